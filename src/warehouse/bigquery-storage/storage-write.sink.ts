import { credentials as grpcCredentials } from '@grpc/grpc-js';
import { adapt, managedwriter, protos } from '@google-cloud/bigquery-storage';
import { Logger } from '@nestjs/common';
import { OAuth2Client } from 'google-auth-library';
import * as protobuf from 'protobufjs';
import 'protobufjs/ext/descriptor';
import { AppConfig } from '../../config/app-config';
import { Column, ColumnType, Row, RowValue, SqlCatalog, TableDef, TableName } from '../contracts';
import { Warehouse } from '../warehouse.factory';
import { WarehouseSink, WarehouseWriteError } from '../warehouse-sink';
import { TIMED_OUT, within } from '../within';

type AppendRowsResponse = protos.google.cloud.bigquery.storage.v1.IAppendRowsResponse;
type ClientOptions = NonNullable<ConstructorParameters<typeof managedwriter.WriterClient>[0]>;
type StreamConnection = Awaited<ReturnType<managedwriter.WriterClient['createStreamConnection']>>;

/** gRPC status codes (google.rpc.Code) the append path tells apart. */
export const Code = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
  UNAVAILABLE: 14,
} as const;

/** "AppendRows request size: 10 MB" (Storage Write API quotas). Rows of one append stay under this... */
export const MAX_APPEND_REQUEST_BYTES = 10 * 1024 * 1024;
/** ...with room for the writer schema, the stream name and the framing of every row (a few bytes each). */
const ROW_BYTES_BUDGET = MAX_APPEND_REQUEST_BYTES - 256 * 1024;
/** The library waits 24 h for an answer that never comes: each append gets this long, then its connection is dropped. */
const APPEND_DEADLINE_MS = 30_000;
/** CreateWriteStream and FinalizeWriteStream: the library's own timeouts and retries run up to 20 minutes. */
const CALL_DEADLINE_MS = 30_000;

/** Column types as the Storage API's TableFieldSchema spells them. */
const STORAGE_TYPES: Record<ColumnType, string> = {
  STRING: 'STRING',
  INT64: 'INT64',
  FLOAT64: 'DOUBLE',
  BOOL: 'BOOL',
  TIMESTAMP: 'TIMESTAMP',
  DATE: 'DATE',
};

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?)$/i;

export interface StorageWriteOptions {
  /** How long an append may go unanswered before its outcome counts as unknown (default 30 s). */
  appendDeadlineMs?: number;
}

/** A COMMITTED stream this instance created, and the offset of its first row not yet known to be written. */
interface OpenStream {
  readonly name: string;
  end: number;
}

/** The one append whose outcome is not known yet: where it went, so that a retry goes to the same place. */
interface InFlight {
  readonly batchId: string;
  readonly stream: string;
  readonly offset: number;
  readonly rows: readonly Row[];
}

interface TableWriter {
  readonly table: TableDef;
  readonly rowType: protobuf.Type;
  readonly descriptor: protos.google.protobuf.IDescriptorProto;
  stream?: OpenStream;
  connection?: { readonly conn: StreamConnection; readonly writer: managedwriter.Writer; broken: boolean };
  uncertain?: InFlight;
}

type Outcome =
  | { kind: 'written' }
  /** ALREADY_EXISTS on a replayed offset: an earlier attempt of this very append was written. */
  | { kind: 'already' }
  /** The stream cannot take appends (finalized, gone) or has a gap before our offset (OUT_OF_RANGE). */
  | { kind: 'stream-unusable'; reason: string; message: string }
  /** Refused, nothing written: retryable (RESOURCE_EXHAUSTED) or not (INVALID_ARGUMENT). */
  | { kind: 'refused'; reason: string; message: string; retryable: boolean }
  /** No answer, a lost connection or an error the library cannot tell apart from one: written or not. */
  | { kind: 'unknown'; reason: string; message: string; retryable: boolean };

/**
 * Writes batches through BigQuery's Storage Write API, exactly once.
 *
 * Per table, the instance creates a COMMITTED stream and appends with explicit offsets, one append
 * in flight at a time (BatchWriter already keeps one batch in flight per table). A batch is a
 * range of offsets, appended in chunks under 10 MB. The append whose answer is missing is
 * remembered (batch id, stream, offset, rows) and retried at the same offset on the same stream:
 * an ALREADY_EXISTS answer there means it was written. When the stream has to be replaced while
 * an append's outcome is unknown, the stream is finalized first: its row count says whether that
 * append is in, before anything is appended elsewhere. Rows known written are never sent again,
 * whichever batch id they come back under. See README, "Choosing a write method".
 */
export class StorageWriteSink implements WarehouseSink {
  private readonly logger = new Logger('StorageWriteSink');
  private client?: managedwriter.WriterClient;
  private readonly tables = new Map<TableName, TableWriter>();
  /** Rows known to be stored: a row object is appended once at most, whatever batch carries it. */
  private readonly written = new WeakSet<Row>();
  private readonly appendDeadlineMs: number;

  constructor(
    private readonly config: AppConfig,
    private readonly catalog: SqlCatalog,
    options: StorageWriteOptions = {},
  ) {
    this.appendDeadlineMs = options.appendDeadlineMs ?? APPEND_DEADLINE_MS;
  }

  /** No network: the client connects on the first append. */
  open(): Promise<void> {
    this.writerClient();
    for (const table of this.catalog.tables) this.tableWriter(table);
    return Promise.resolve();
  }

  async write(table: TableDef, rows: readonly Row[], batchId: string): Promise<void> {
    const tw = this.tableWriter(table);
    if (tw.uncertain && tw.uncertain.batchId !== batchId) {
      // BatchWriter gave up on that batch (or split it) while one of its appends was unanswered:
      // find out what the stream holds before the next rows take any offset.
      await this.retireStream(tw, 'the batch of an unanswered append was given up');
    }
    for (;;) {
      const remaining = rows.filter((row) => !this.written.has(row));
      if (remaining.length === 0) return;
      const chunk = this.nextChunk(tw, remaining);
      const stream = await this.ensureStream(tw);
      // Invariant: nothing else is ever appended at an offset that an unanswered append holds.
      const offset = tw.uncertain?.stream === stream.name ? tw.uncertain.offset : stream.end;
      tw.uncertain = { batchId, stream: stream.name, offset, rows: chunk.rows };
      const outcome = await this.append(tw, chunk.bytes, offset);
      switch (outcome.kind) {
        case 'written':
        case 'already':
          for (const row of chunk.rows) this.written.add(row);
          stream.end = offset + chunk.rows.length;
          tw.uncertain = undefined;
          continue;
        case 'stream-unusable':
          // The retire settles the unanswered append from the stream's row count; the rest goes to a new stream.
          await this.retireStream(tw, outcome.message);
          throw new WarehouseWriteError(`AppendRows on ${stream.name}: ${outcome.message}`, outcome.reason, true);
        case 'refused':
          tw.uncertain = undefined;
          this.dropConnection(tw);
          throw new WarehouseWriteError(`AppendRows: ${outcome.message}`, outcome.reason, outcome.retryable);
        case 'unknown':
          this.dropConnection(tw);
          throw new WarehouseWriteError(`AppendRows: ${outcome.message}`, outcome.reason, outcome.retryable);
      }
    }
  }

  /** Finalizes every stream (so that nothing more lands in it, and an unanswered append is settled), within a deadline. */
  async close(): Promise<void> {
    const deadline = Math.min(CALL_DEADLINE_MS, Math.max(500, this.config.shutdownFlushTimeoutMs));
    await Promise.all(
      [...this.tables.values()].map((tw) =>
        this.retireStream(tw, 'shutting down', deadline).catch((error: unknown) =>
          this.logger.warn({ message: 'Write stream not finalized at shutdown', table: tw.table.name, reason: errorText(error) }),
        ),
      ),
    );
    this.client?.close();
    this.client = undefined;
  }

  private tableWriter(table: TableDef): TableWriter {
    let tw = this.tables.get(table.name);
    if (!tw) {
      const descriptor = protoDescriptor(table.columns);
      const rowType = (protobuf.Type as unknown as { fromDescriptor(d: unknown): protobuf.Type }).fromDescriptor(
        adapt.normalizeDescriptor(new protos.google.protobuf.DescriptorProto(descriptor)),
      );
      tw = { table, rowType, descriptor };
      this.tables.set(table.name, tw);
    }
    return tw;
  }

  /** The first rows of `rows` whose encoding fits one append. A single row over the limit is refused. */
  private nextChunk(tw: TableWriter, rows: readonly Row[]): { rows: Row[]; bytes: Uint8Array[] } {
    const chunk: { rows: Row[]; bytes: Uint8Array[] } = { rows: [], bytes: [] };
    let size = 0;
    for (const row of rows) {
      const bytes = encodeRow(tw, row);
      if (size + bytes.length + 8 > ROW_BYTES_BUDGET) {
        if (chunk.rows.length > 0) break;
        throw new WarehouseWriteError(`a ${tw.table.name} row of ${bytes.length} bytes exceeds the append limit`, 'rowTooLarge', false);
      }
      size += bytes.length + 8;
      chunk.rows.push(row);
      chunk.bytes.push(bytes);
    }
    return chunk;
  }

  private async ensureStream(tw: TableWriter): Promise<OpenStream> {
    if (tw.stream) return tw.stream;
    const parent = `projects/${await this.projectId()}/datasets/${this.config.dataset}/tables/${tw.table.name}`;
    try {
      const created = await this.writerClient().createWriteStreamFullResponse(
        { streamType: managedwriter.CommittedStream, destinationTable: parent },
        { timeout: CALL_DEADLINE_MS },
      );
      tw.stream = { name: created.name!, end: 0 };
      return tw.stream;
    } catch (error) {
      throw grpcWriteError(error, 'CreateWriteStream');
    }
  }

  /**
   * Finalizes the table's stream and settles its unanswered append from the row count: written
   * when the stream holds its rows, not written when it ends at its offset. The next append goes
   * to a new stream. Throws (and keeps everything as it was) when the row count cannot be had.
   */
  private async retireStream(tw: TableWriter, why: string, deadlineMs = CALL_DEADLINE_MS): Promise<void> {
    this.dropConnection(tw);
    const stream = tw.stream;
    if (!stream) return;
    let rowCount: number;
    try {
      const [answer] = await this.writerClient().getClient().finalizeWriteStream({ name: stream.name }, { timeout: deadlineMs });
      rowCount = Number(answer.rowCount ?? 0);
    } catch (error) {
      if (grpcCode(error) !== Code.NOT_FOUND) throw grpcWriteError(error, 'FinalizeWriteStream');
      // The stream is gone: its row count with it. Rows of an unanswered append on it are not sent
      // again (BatchWriter counts them as its batch ends): a possible loss, logged, never a duplicate.
      const lost = tw.uncertain?.stream === stream.name ? tw.uncertain.rows : [];
      for (const row of lost) this.written.add(row);
      if (lost.length > 0) {
        this.logger.error({
          message: 'Write stream gone with an unanswered append: not sent again',
          table: tw.table.name,
          rows: lost.length,
        });
      }
      tw.uncertain = undefined;
      tw.stream = undefined;
      return;
    }
    const pending = tw.uncertain;
    if (pending?.stream === stream.name) {
      if (rowCount >= pending.offset + pending.rows.length) for (const row of pending.rows) this.written.add(row);
      else if (rowCount !== pending.offset) {
        throw new WarehouseWriteError(
          `stream ${stream.name} holds ${rowCount} rows, neither before nor after the unanswered append at ${pending.offset}`,
          'streamInconsistent',
          false,
        );
      }
      this.logger.log({
        message: 'Unanswered append settled from the stream row count',
        table: tw.table.name,
        rows: pending.rows.length,
        written: rowCount > pending.offset,
        why,
      });
      tw.uncertain = undefined;
    }
    tw.stream = undefined;
  }

  /**
   * One append with a deadline, on the table's connection (a new one after any failure: the
   * library matches answers to writes by order alone, and its reconnect() drops the writes in
   * flight). Every answer is checked: the library resolves in-band errors instead of rejecting.
   */
  private async append(tw: TableWriter, bytes: Uint8Array[], offset: number): Promise<Outcome> {
    let writer: managedwriter.Writer;
    try {
      ({ writer } = await this.connection(tw));
    } catch (error) {
      return { kind: 'refused', reason: 'connection failed', message: errorText(error), retryable: true };
    }
    let answer: AppendRowsResponse | typeof TIMED_OUT;
    try {
      answer = await within(writer.appendRows({ serializedRows: bytes }, offset).getResult(), this.appendDeadlineMs);
    } catch (error) {
      const code = grpcCode(error);
      // The request may have been written before the connection failed: only a retry at the same offset can tell.
      return { kind: 'unknown', reason: codeName(code), message: errorText(error), retryable: code !== Code.INVALID_ARGUMENT };
    }
    if (answer === TIMED_OUT) {
      return { kind: 'unknown', reason: 'DEADLINE_EXCEEDED', message: `no answer within ${this.appendDeadlineMs} ms`, retryable: true };
    }
    const error = answer.error;
    if (!error) {
      const at = Number(answer.appendResult?.offset?.value ?? -1);
      if (at !== offset)
        return { kind: 'unknown', reason: 'OFFSET_MISMATCH', message: `append at ${offset} answered for ${at}`, retryable: true };
      return { kind: 'written' };
    }
    const code = error.code ?? 0;
    const message = `${codeName(code)}: ${error.message ?? ''}`;
    switch (code) {
      case Code.ALREADY_EXISTS:
        return { kind: 'already' };
      case Code.OUT_OF_RANGE:
      case Code.NOT_FOUND:
      case Code.FAILED_PRECONDITION:
        return { kind: 'stream-unusable', reason: codeName(code), message };
      case Code.INVALID_ARGUMENT:
        // Rows the table cannot take (row_errors), or a stream that is closed or finalized.
        if (/finali[sz]ed|closed|not found/i.test(error.message ?? '')) return { kind: 'stream-unusable', reason: codeName(code), message };
        return { kind: 'refused', reason: codeName(code), message, retryable: false };
      case Code.RESOURCE_EXHAUSTED:
        return { kind: 'refused', reason: codeName(code), message, retryable: true };
      default:
        return { kind: 'unknown', reason: codeName(code), message, retryable: true };
    }
  }

  private async connection(tw: TableWriter): Promise<NonNullable<TableWriter['connection']>> {
    if (tw.connection && !tw.connection.broken) return tw.connection;
    this.dropConnection(tw);
    const conn = await this.writerClient().createStreamConnection({ streamId: tw.stream!.name });
    const connection = { conn, writer: new managedwriter.Writer({ connection: conn, protoDescriptor: tw.descriptor }), broken: false };
    // Without an error listener, a call that ends with a non-retryable status (INVALID_ARGUMENT,
    // PERMISSION_DENIED, ...) is an 'error' event nobody handles: an uncaught exception.
    conn.onConnectionError((error) => {
      connection.broken = true;
      this.logger.warn({ message: 'AppendRows connection failed', table: tw.table.name, reason: errorText(error) });
    });
    tw.connection = connection;
    return connection;
  }

  /** Closes the table's connection: a write still in flight there is settled by its retry, never by this connection. */
  private dropConnection(tw: TableWriter): void {
    tw.connection?.conn.close();
    tw.connection = undefined;
  }

  private writerClient(): managedwriter.WriterClient {
    this.client ??= new managedwriter.WriterClient(clientOptions(this.config));
    return this.client;
  }

  private projectId(): Promise<string> {
    const { projectId } = this.config.bigquery;
    return projectId ? Promise.resolve(projectId) : this.writerClient().getClient().getProjectId();
  }
}

/** BigQuery's REST warehouse for table setup and reads, with `sink` writing the batches. */
export function withSink(rest: Warehouse, sink: WarehouseSink): Warehouse {
  return {
    open: async () => {
      await rest.open();
      await sink.open();
    },
    write: (table, rows, batchId) => sink.write(table, rows, batchId),
    applySchema: () => rest.applySchema(),
    read: (sql, params) => rest.read(sql, params),
    readWithStats: (sql, params) => rest.readWithStats(sql, params),
    close: async () => {
      try {
        await sink.close();
      } finally {
        await rest.close();
      }
    },
  };
}

/**
 * Where the client connects. A loopback host (a local fake) gets a plaintext channel: the host
 * and port as separate options, insecure credentials, and an explicit universe domain, without
 * which the library still looks for Google credentials (and, on Google Cloud, the metadata server).
 */
export function clientOptions(config: AppConfig): ClientOptions {
  const options: ClientOptions = {};
  const endpoint = config.bigquery.storageEndpoint;
  if (endpoint) {
    const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(endpoint)!;
    const host = match[1];
    options.servicePath = host.replace(/^\[|\]$/g, '');
    options.port = Number(match[2]);
    if (LOOPBACK.test(host)) {
      options.sslCreds = grpcCredentials.createInsecure();
      options.universeDomain = 'googleapis.com';
      return options;
    }
  }
  if (config.bigquery.projectId) options.projectId = config.bigquery.projectId;
  if (config.bigquery.accessToken) {
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: config.bigquery.accessToken });
    options.authClient = auth as unknown as ClientOptions['authClient'];
  }
  return options;
}

/** The writer schema, from the columns of sql/tables (proto2: REQUIRED columns are required fields). */
export function protoDescriptor(columns: readonly Column[]): protos.google.protobuf.IDescriptorProto {
  return adapt.convertStorageSchemaToProto2Descriptor(
    {
      fields: columns.map((c) => ({
        name: c.name,
        type: STORAGE_TYPES[c.type] as unknown as protos.google.cloud.bigquery.storage.v1.TableFieldSchema.Type,
        mode: (c.nullable ? 'NULLABLE' : 'REQUIRED') as unknown as protos.google.cloud.bigquery.storage.v1.TableFieldSchema.Mode,
      })),
    },
    'root',
  );
}

/**
 * One row in the Storage API's proto encoding, typed from sql/: TIMESTAMP as int64 microseconds
 * since the epoch, DATE as int32 days (the DML path sends the same instants, at the same
 * millisecond precision), NULL as an absent field.
 */
export function encodeRow(tw: Pick<TableWriter, 'rowType' | 'table'>, row: Row): Uint8Array {
  const message: Record<string, unknown> = {};
  for (const column of tw.table.columns) {
    const value = row[column.name];
    if (value === null || value === undefined) continue;
    message[column.name] = toWire(value, column);
  }
  return tw.rowType.encode(tw.rowType.fromObject(message)).finish();
}

function toWire(value: RowValue, column: Column): unknown {
  if (value instanceof Date) {
    if (column.type === 'DATE') return Math.floor(value.getTime() / 86_400_000);
    return value.getTime() * 1000;
  }
  return value;
}

function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

const CODE_NAMES = Object.fromEntries(Object.entries(Code).map(([name, code]) => [code, name])) as Record<number, string>;
const codeName = (code: number | undefined) => (code === undefined ? 'connection lost' : (CODE_NAMES[code] ?? `gRPC ${code}`));

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

/** A failed unary call: UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED and lost connections are worth another attempt. */
function grpcWriteError(error: unknown, call: string): WarehouseWriteError {
  const code = grpcCode(error);
  const retryable = code === undefined || [Code.UNAVAILABLE, Code.RESOURCE_EXHAUSTED, 4, 10, 13, 1].includes(code);
  return new WarehouseWriteError(`${call}: ${errorText(error)}`, codeName(code), retryable, { cause: error });
}
