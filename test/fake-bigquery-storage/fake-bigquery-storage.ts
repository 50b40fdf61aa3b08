import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import * as protobuf from 'protobufjs';
import 'protobufjs/ext/descriptor';
import { FakeBigQuery, MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS } from '../fake-bigquery/fake-bigquery';

/**
 * A small fake of BigQuery's Storage Write API (google.cloud.bigquery.storage.v1.BigQueryWrite)
 * on 127.0.0.1, served with @grpc/grpc-js from the protos that ship with the client library
 * (@google-cloud/bigquery-storage/build/protos/protos.json), for the real managed writer.
 *
 * Tables live in a FakeBigQuery: rows acknowledged on a COMMITTED stream land in the same table
 * the DML path writes and the REST reader reads, so both write methods can be compared row for row.
 *
 * What it does as the Storage Write API documents it ("Use the Storage Write API", "Exactly-once
 * delivery semantics", "Storage Write API quotas and limits", storage.proto):
 * - CreateWriteStream (COMMITTED only), GetWriteStream, FinalizeWriteStream (row_count; idempotent);
 * - AppendRows: the first request of a connection must carry the writer schema (a proto2
 *   DescriptorProto); rows are decoded with it and checked against the table's columns;
 * - offsets: an append at the stream's end is written; below the end answers ALREADY_EXISTS,
 *   beyond it OUT_OF_RANGE, both in-band (AppendRowsResponse.error), nothing written;
 * - an append to a finalized stream answers FAILED_PRECONDITION in-band ("stream finalized"; the
 *   real service names it in a StorageError detail), to an unknown one NOT_FOUND;
 * - a request over 10 MB ends the whole connection with INVALID_ARGUMENT;
 * - rows a table cannot take (unknown field, missing required column, TIMESTAMP out of range)
 *   answer INVALID_ARGUMENT in-band with row_errors, and nothing of the request is written.
 * Switched on per test (`inject`): UNAVAILABLE ending the connection before the work, a lost
 * answer (the work done, then UNAVAILABLE), a swallowed answer (the work done, no answer ever),
 * RESOURCE_EXHAUSTED in-band, and `finalizeBehindTheBack` (a stream finalized by someone else).
 */

export const MAX_APPEND_BYTES = 10 * 1024 * 1024;

const PROTOS = protobuf.Root.fromJSON(
  JSON.parse(readFileSync(require.resolve('@google-cloud/bigquery-storage/build/protos/protos.json'), 'utf8')) as protobuf.INamespace,
);
const V1 = 'google.cloud.bigquery.storage.v1';
const type = (name: string) => PROTOS.lookupType(name);
const DescriptorProtoType = type('google.protobuf.DescriptorProto');

export type AppendFault =
  /** End the connection with UNAVAILABLE before doing anything. */
  | 'unavailable'
  /** Write the rows, then end the connection with UNAVAILABLE: the answer is lost. */
  | 'lose'
  /** Write the rows and never answer (the connection stays open). */
  | 'swallow'
  /** Answer RESOURCE_EXHAUSTED in-band, nothing written. */
  | 'resource-exhausted';

export interface AppendRecord {
  stream: string;
  offset?: number;
  rows: number;
  bytes: number;
  outcome: string;
}

interface StreamState {
  name: string;
  tableRef: string;
  rows: number;
  finalized: boolean;
  createTime: Date;
}

class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

export class FakeBigQueryStorage {
  readonly appends: AppendRecord[] = [];
  readonly calls: string[] = [];
  readonly counters = {
    streamsCreated: 0,
    finalized: 0,
    connections: 0,
    injected: 0,
    lost: 0,
    alreadyExists: 0,
    outOfRange: 0,
    tooLarge: 0,
  };
  /** Metadata of every call, to prove what the client sent (no credentials on a plaintext channel). */
  readonly metadata: grpc.Metadata[] = [];
  private readonly streams = new Map<string, StreamState>();
  private faults: { fault: AppendFault; every: number; times: number; seen: number; applied: number }[] = [];
  private server?: grpc.Server;
  private port = 0;
  private readonly openCalls = new Set<grpc.ServerDuplexStream<unknown, unknown>>();

  constructor(readonly bigquery: FakeBigQuery) {}

  /** host:port, as BIGQUERY_STORAGE_ENDPOINT takes it. */
  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * MAX_APPEND_BYTES });
    this.server.addService(serviceDefinition(), {
      CreateWriteStream: this.unary((request: any) => this.createWriteStream(request)),
      GetWriteStream: this.unary((request: any) => this.stream(request.name).then((s) => writeStream(s))),
      FinalizeWriteStream: this.unary((request: any) => this.finalize(request.name)),
      AppendRows: (call: grpc.ServerDuplexStream<any, any>) => this.appendRows(call),
    });
    this.port = await new Promise<number>((resolve, reject) =>
      this.server!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
    return this;
  }

  async stop(): Promise<void> {
    for (const call of this.openCalls) call.destroy();
    await new Promise<void>((resolve) => this.server?.tryShutdown(() => resolve()));
    this.server?.forceShutdown();
  }

  /** Applies `fault` to every n-th append request (default: all), at most `times` times. */
  inject(fault: AppendFault, options: { every?: number; times?: number } = {}): void {
    this.faults.push({ fault, every: options.every ?? 1, times: options.times ?? Infinity, seen: 0, applied: 0 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Streams created so far, with the rows each holds. */
  streamList(): { name: string; tableRef: string; rows: number; finalized: boolean }[] {
    return [...this.streams.values()].map(({ name, tableRef, rows, finalized }) => ({ name, tableRef, rows, finalized }));
  }

  /** Finalizes a stream as another process (or BigQuery itself) would: the writer learns it from its next append. */
  finalizeBehindTheBack(name: string): void {
    this.streams.get(name)!.finalized = true;
  }

  private unary<T>(handler: (request: unknown) => Promise<T>): grpc.handleUnaryCall<unknown, T> {
    return (call, callback) => {
      this.metadata.push(call.metadata);
      this.calls.push(call.getPath().split('/').pop()!);
      handler(call.request).then(
        (answer) => callback(null, answer),
        (error: unknown) =>
          callback(
            error instanceof RpcError
              ? { code: error.code, details: error.message }
              : { code: grpc.status.INTERNAL, details: String(error) },
          ),
      );
    };
  }

  private createWriteStream(request: { parent: string; writeStream?: { type?: string } }): Promise<unknown> {
    const tableRef = tableRefOf(request.parent);
    if (!tableRef || !this.bigquery.table(tableRef))
      return Promise.reject(new RpcError(grpc.status.NOT_FOUND, `Table ${request.parent} not found`));
    if (request.writeStream?.type !== 'COMMITTED') {
      return Promise.reject(
        new RpcError(grpc.status.UNIMPLEMENTED, `The fake only creates COMMITTED streams, not ${request.writeStream?.type}`),
      );
    }
    const state: StreamState = {
      name: `${request.parent}/streams/fake-${++this.counters.streamsCreated}`,
      tableRef,
      rows: 0,
      finalized: false,
      createTime: new Date(),
    };
    this.streams.set(state.name, state);
    return Promise.resolve(writeStream(state));
  }

  private stream(name: string): Promise<StreamState> {
    const state = this.streams.get(name);
    return state ? Promise.resolve(state) : Promise.reject(new RpcError(grpc.status.NOT_FOUND, `Stream ${name} not found`));
  }

  private async finalize(name: string): Promise<unknown> {
    const state = await this.stream(name);
    if (!state.finalized) this.counters.finalized++;
    state.finalized = true;
    return { rowCount: String(state.rows) };
  }

  private appendRows(call: grpc.ServerDuplexStream<any, any>): void {
    this.counters.connections++;
    this.metadata.push(call.metadata);
    this.openCalls.add(call);
    let rowType: protobuf.Type | undefined;
    let ended = false;
    const end = (code: grpc.status, details: string) => {
      if (ended) return;
      ended = true;
      call.emit('error', { code, details });
    };
    call.on('close', () => this.openCalls.delete(call));
    call.on('end', () => {
      if (!ended) call.end();
    });
    call.on('error', () => undefined);
    call.on('data', ({ request, bytes }: { request: any; bytes: number }) => {
      if (ended) return;
      const offset = request.offset ? Number(request.offset.value ?? 0) : undefined;
      const serialized: Uint8Array[] = request.protoRows?.rows?.serializedRows ?? [];
      const record: AppendRecord = { stream: request.writeStream, offset, rows: serialized.length, bytes, outcome: 'ok' };
      this.appends.push(record);
      if (bytes > MAX_APPEND_BYTES) {
        this.counters.tooLarge++;
        record.outcome = 'too large';
        return end(grpc.status.INVALID_ARGUMENT, `AppendRows request too large: ${bytes} bytes, the limit is ${MAX_APPEND_BYTES}`);
      }
      const descriptor = request.protoRows?.writerSchema?.protoDescriptor;
      if (!rowType) {
        if (!descriptor) {
          record.outcome = 'no schema';
          return end(grpc.status.INVALID_ARGUMENT, 'The first AppendRowsRequest of a connection must carry the writer schema');
        }
        const bytesOfDescriptor = DescriptorProtoType.encode(DescriptorProtoType.fromObject(descriptor)).finish();
        rowType = (protobuf.Type as unknown as { fromDescriptor(d: Uint8Array): protobuf.Type }).fromDescriptor(bytesOfDescriptor);
      }
      const fault = this.nextFault();
      if (fault === 'unavailable') {
        record.outcome = 'unavailable';
        return end(grpc.status.UNAVAILABLE, 'The service is currently unavailable (injected)');
      }
      if (fault === 'resource-exhausted') {
        record.outcome = 'resource exhausted';
        call.write(errorResponse(grpc.status.RESOURCE_EXHAUSTED, 'Exceeds quota (injected)'));
        return;
      }
      const answer = this.append(request.writeStream, offset, serialized, rowType);
      record.outcome = answer.error ? `error ${answer.error.code}` : 'ok';
      if (fault === 'lose') {
        this.counters.lost++;
        record.outcome += ', answer lost';
        return end(grpc.status.UNAVAILABLE, 'Connection reset (injected, after the work was done)');
      }
      if (fault === 'swallow') {
        this.counters.lost++;
        record.outcome += ', answer swallowed';
        return;
      }
      call.write(answer);
    });
  }

  private nextFault(): AppendFault | undefined {
    for (const f of this.faults) {
      f.seen++;
      if (f.applied < f.times && f.seen % f.every === 0) {
        f.applied++;
        this.counters.injected++;
        return f.fault;
      }
    }
    return undefined;
  }

  /** One append, all or nothing: the response to send. */
  private append(name: string, offset: number | undefined, serialized: Uint8Array[], rowType: protobuf.Type): any {
    const state = this.streams.get(name);
    if (!state) return errorResponse(grpc.status.NOT_FOUND, `Stream ${name} not found`);
    if (state.finalized) return errorResponse(grpc.status.FAILED_PRECONDITION, `Stream ${name} is finalized`);
    const at = offset ?? state.rows;
    if (at < state.rows) {
      this.counters.alreadyExists++;
      return errorResponse(grpc.status.ALREADY_EXISTS, `The offset ${at} is within stream, expected offset ${state.rows}`);
    }
    if (at > state.rows) {
      this.counters.outOfRange++;
      return errorResponse(grpc.status.OUT_OF_RANGE, `The offset ${at} is beyond stream, expected offset ${state.rows}`);
    }
    const fields = this.bigquery.table(state.tableRef)!.fields;
    const rows: Record<string, unknown>[] = [];
    const rowErrors: { index: number; code: string; message: string }[] = [];
    serialized.forEach((bytes, index) => {
      try {
        rows.push(decodeRow(rowType, bytes, fields));
      } catch (error) {
        rowErrors.push({ index, code: 'FIELDS_ERROR', message: (error as Error).message });
      }
    });
    if (rowErrors.length > 0) {
      return { ...errorResponse(grpc.status.INVALID_ARGUMENT, `Errors found while processing rows: ${rowErrors[0].message}`), rowErrors };
    }
    this.bigquery.rows(state.tableRef).push(...rows);
    state.rows += rows.length;
    return { appendResult: { offset: { value: String(at) } }, writeStream: name };
  }
}

function errorResponse(code: grpc.status, message: string): { error: { code: number; message: string } } {
  return { error: { code, message } };
}

function tableRefOf(parent: string): string | undefined {
  const m = /^projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)$/.exec(parent);
  return m ? `${m[1]}.${m[2]}.${m[3]}` : undefined;
}

function writeStream(s: StreamState): unknown {
  const seconds = Math.floor(s.createTime.getTime() / 1000);
  return { name: s.name, type: 'COMMITTED', writeMode: 'INSERT', createTime: { seconds: String(seconds), nanos: 0 } };
}

/**
 * A row as BigQuery stores it, decoded with the writer's descriptor and typed by the table:
 * TIMESTAMP from int64 microseconds, DATE from int32 days, INT64 from int64.
 */
function decodeRow(
  rowType: protobuf.Type,
  bytes: Uint8Array,
  fields: { name: string; type: string; mode: string }[],
): Record<string, unknown> {
  const message = rowType.toObject(rowType.decode(bytes), { longs: String, defaults: false });
  for (const name of Object.keys(message)) {
    if (!fields.some((f) => f.name === name)) throw new Error(`Field ${name} is not in the table`);
  }
  const row: Record<string, unknown> = {};
  for (const field of fields) {
    const value = message[field.name];
    if (value === undefined || value === null) {
      if (field.mode === 'REQUIRED') throw new Error(`Required field ${field.name} is missing`);
      row[field.name] = null;
      continue;
    }
    const wire = rowType.fields[field.name]?.type;
    const expect = (types: string[]) => {
      if (!types.includes(wire)) throw new Error(`Field ${field.name} of type ${field.type} cannot be written from proto ${wire}`);
    };
    switch (field.type) {
      case 'STRING':
        expect(['string']);
        row[field.name] = value;
        break;
      case 'INTEGER':
      case 'INT64':
        expect(['int64', 'int32', 'sint64', 'uint64']);
        row[field.name] = Number(value);
        break;
      case 'FLOAT':
      case 'FLOAT64':
        expect(['double', 'float']);
        row[field.name] = Number(value);
        break;
      case 'BOOLEAN':
      case 'BOOL':
        expect(['bool']);
        row[field.name] = value;
        break;
      case 'TIMESTAMP': {
        expect(['int64']);
        const ms = Math.floor(Number(value) / 1000);
        if (ms < MIN_TIMESTAMP_MS || ms > MAX_TIMESTAMP_MS) throw new Error(`Timestamp of ${field.name} out of range: ${String(value)} µs`);
        row[field.name] = new Date(ms);
        break;
      }
      case 'DATE':
        expect(['int32']);
        row[field.name] = new Date(Number(value) * 86_400_000).toISOString().slice(0, 10);
        break;
      default:
        throw new Error(`The fake does not decode ${field.type}`);
    }
  }
  return row;
}

/** The BigQueryWrite service for grpc-js, (de)serialized with the library's own message types. */
function serviceDefinition(): grpc.ServiceDefinition {
  const service = PROTOS.lookupService(`${V1}.BigQueryWrite`);
  const definition: Record<string, grpc.MethodDefinition<any, any>> = {};
  for (const method of Object.values(service.methods)) {
    method.resolve();
    const requestType = type(method.resolvedRequestType!.fullName);
    const responseType = type(method.resolvedResponseType!.fullName);
    const toObject = (buf: Buffer) => requestType.toObject(requestType.decode(buf), { longs: String, enums: String });
    definition[method.name] = {
      path: `/${V1}.BigQueryWrite/${method.name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      // AppendRows keeps the size of each request on the wire, for the 10 MB limit.
      requestDeserialize: method.name === 'AppendRows' ? (buf: Buffer) => ({ request: toObject(buf), bytes: buf.length }) : toObject,
      requestSerialize: (value: any) => Buffer.from(requestType.encode(requestType.fromObject(value)).finish()),
      responseSerialize: (value: any) => Buffer.from(responseType.encode(responseType.fromObject(value)).finish()),
      responseDeserialize: (buf: Buffer) => responseType.toObject(responseType.decode(buf)),
    };
  }
  return definition as grpc.ServiceDefinition;
}
