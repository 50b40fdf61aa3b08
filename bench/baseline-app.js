// The yardstick for bench/cold-start.mjs: an empty Nest app on the same stack as the API
// (Nest core, the Express adapter, ValidationPipe with class-validator and class-transformer,
// one POST route answering 204) and no code of ours. BASELINE=bare drops the ValidationPipe.
require('reflect-metadata');
const { Body, Controller, HttpCode, Module, Post, ValidationPipe } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');

const withValidation = process.env.BASELINE !== 'bare';

class BaselineController {
  telemetry() {}
}
Controller('events')(BaselineController);
const proto = BaselineController.prototype;
const method = Object.getOwnPropertyDescriptor(proto, 'telemetry');
Post('telemetry')(proto, 'telemetry', method);
HttpCode(204)(proto, 'telemetry', method);

if (withValidation) {
  const { IsOptional, IsString } = require('class-validator');
  class SessionDto {}
  IsOptional()(SessionDto.prototype, 'version');
  IsString()(SessionDto.prototype, 'version');
  Reflect.defineMetadata('design:paramtypes', [SessionDto], proto, 'telemetry');
  Body()(proto, 'telemetry', 0);
}

class BaselineModule {}
Module({ controllers: [BaselineController] })(BaselineModule);

NestFactory.create(BaselineModule, { logger: false }).then((app) => {
  if (withValidation) app.useGlobalPipes(new ValidationPipe({ whitelist: true }));
  return app.listen(Number(process.env.PORT));
});
