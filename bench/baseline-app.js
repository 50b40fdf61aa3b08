// Yardsticks: Nest apps with no code of ours, one POST /events/telemetry route answering 204.
// BASELINE chooses which:
// - unset: the empty app on the API's stack (Nest core, the Express adapter, ValidationPipe with
//   class-validator and class-transformer) with a one-field DTO: bench/cold-start.mjs's yardstick;
// - bare: the same without the ValidationPipe (cold start);
// - dto: the empty app with the API's own TelemetryDto, imported from dist/, and the ValidationPipe
//   options of src/app.setup.ts (whitelist, transform, forbidUnknownValues); application/json and
//   text/plain (sendBeacon's type) parsed as JSON, as the API does. npm run bench's ceiling;
// - dto-fastify: dto on @nestjs/platform-fastify (Fastify's own JSON parser, for text/plain too,
//   and its body limit set to the API's 16 KiB): the ceiling of that framework;
// - naive: dto, plus one awaited single-row INSERT into the DuckDB file DUCKDB_PATH per request
//   before the 204: what one would write without batching. npm run bench's reference.
require('reflect-metadata');
const { Body, Controller, HttpCode, Module, Post, ValidationPipe } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');

const given = process.env.BASELINE ?? 'same-stack';
if (!['same-stack', 'bare', 'dto', 'dto-fastify', 'naive'].includes(given))
  throw new Error(`BASELINE=${given}: use bare, dto, dto-fastify or naive, or leave it unset`);
const fastify = given === 'dto-fastify';
const mode = fastify ? 'dto' : given;

/** Set for BASELINE=naive before Nest starts: the handler awaits its INSERT. */
let insert;

class BaselineController {
  telemetry(body) {
    return insert?.(body);
  }
}
Controller('events')(BaselineController);
const proto = BaselineController.prototype;
const method = Object.getOwnPropertyDescriptor(proto, 'telemetry');
Post('telemetry')(proto, 'telemetry', method);
HttpCode(204)(proto, 'telemetry', method);

let pipe;
if (mode === 'same-stack') {
  const { IsOptional, IsString } = require('class-validator');
  class SessionDto {}
  IsOptional()(SessionDto.prototype, 'version');
  IsString()(SessionDto.prototype, 'version');
  Reflect.defineMetadata('design:paramtypes', [SessionDto], proto, 'telemetry');
  Body()(proto, 'telemetry', 0);
  pipe = new ValidationPipe({ whitelist: true });
} else if (mode !== 'bare') {
  const { TelemetryDto } = require('../dist/events/dto/telemetry.dto.js');
  Reflect.defineMetadata('design:paramtypes', [TelemetryDto], proto, 'telemetry');
  Body()(proto, 'telemetry', 0);
  pipe = new ValidationPipe({ whitelist: true, transform: true, forbidUnknownValues: true });
}

class BaselineModule {}
Module({ controllers: [BaselineController] })(BaselineModule);

async function openNaiveTable() {
  const { DuckDBInstance } = require('@duckdb/node-api');
  const instance = await DuckDBInstance.create(process.env.DUCKDB_PATH);
  const connection = await instance.connect();
  await connection.run(`CREATE TABLE IF NOT EXISTS telemetry (
    installationId VARCHAR NOT NULL, startTime TIMESTAMP NOT NULL, endTime TIMESTAMP NOT NULL,
    firstSession BOOLEAN NOT NULL, version VARCHAR NOT NULL, os VARCHAR NOT NULL, country VARCHAR,
    environmentsCount BIGINT NOT NULL, app VARCHAR, auth BOOLEAN, paid BOOLEAN, receivedAt TIMESTAMP NOT NULL)`);
  const sql = 'INSERT INTO telemetry VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, current_timestamp)';
  insert = async (e) => {
    await connection.run(sql, [
      e.installationId,
      e.startTime,
      e.endTime,
      e.firstSession,
      e.version,
      e.os,
      e.country ?? null,
      e.environmentsCount,
      e.app ?? null,
      e.auth ?? null,
      e.paid ?? null,
    ]);
  };
}

const MAX_BODY_BYTES = 16 * 1024;

/** Fastify parses application/json itself; text/plain goes through the same parser instead of arriving as a string. */
function fastifyAdapter() {
  const { FastifyAdapter } = require('@nestjs/platform-fastify');
  const adapter = new FastifyAdapter({ bodyLimit: MAX_BODY_BYTES });
  const instance = adapter.getInstance();
  instance.addContentTypeParser('text/plain', { parseAs: 'string' }, instance.getDefaultJsonParser('error', 'error'));
  return adapter;
}

async function main() {
  if (mode === 'naive') await openNaiveTable();
  if (fastify) {
    const app = await NestFactory.create(BaselineModule, fastifyAdapter(), { logger: false, bodyParser: false });
    app.useGlobalPipes(pipe);
    await app.listen(Number(process.env.PORT), '127.0.0.1');
    return;
  }
  const sameBody = mode === 'dto' || mode === 'naive';
  const app = await NestFactory.create(BaselineModule, { logger: false, bodyParser: !sameBody });
  if (sameBody) app.use(require('express').json({ type: ['application/json', 'text/plain'], limit: MAX_BODY_BYTES }));
  if (pipe) app.useGlobalPipes(pipe);
  await app.listen(Number(process.env.PORT), '127.0.0.1');
}

void main();
