import { Inject, Injectable } from '@nestjs/common';
import { WRITER_STATUS, WriterStatus } from '../warehouse/batch-writer.service';
import { TABLE_CONTRACTS, TableName, TableRow } from '../warehouse/contracts';
import { WAREHOUSE, WarehouseLoader } from '../warehouse/warehouse.factory';
import { WarehouseReader } from '../warehouse/warehouse-reader';

const DAY_MS = 86_400_000;

export interface TableActivity<T extends TableName = TableName> {
  /** Rows stored with today's receive time. */
  readonly today: number;
  /** Rows accepted by this instance and not written yet. */
  readonly pending: number;
  /** Today's last rows, newest first. */
  readonly last: TableRow<T>[];
}

export interface RecentEvents {
  /** Today, UTC. */
  readonly day: string;
  readonly tables: { [T in TableName]: TableActivity<T> };
}

/**
 * What an operator asks first after sending an event: did it arrive? Reads the warehouse the
 * API writes to, through the API's own engine instance (DuckDB lets one process open a file).
 */
@Injectable()
export class AdminEventsService {
  constructor(
    @Inject(WAREHOUSE) private readonly loadReader: WarehouseLoader<WarehouseReader>,
    @Inject(WRITER_STATUS) private readonly writer: WriterStatus,
  ) {}

  async recent(limit: number, now = new Date()): Promise<RecentEvents> {
    const reader = await this.loadReader();
    const from = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS);
    const to = new Date(from.getTime() + DAY_MS);
    const pending = this.writer.pendingByTable();
    const tables: Partial<Record<TableName, TableActivity>> = {};
    for (const { name, receivedAt } of TABLE_CONTRACTS) {
      // The receive time bounds both queries, so that BigQuery reads one partition.
      const today = `FROM \`{{dataset}}.${name}\` WHERE \`${receivedAt}\` >= @from AND \`${receivedAt}\` < @to`;
      const [count] = await reader.read<{ events: number }>(`SELECT COUNT(*) AS events ${today}`, { from, to });
      const last = await reader.read<TableRow<typeof name>>(`SELECT * ${today} ORDER BY \`${receivedAt}\` DESC LIMIT @limit`, {
        from,
        to,
        limit,
      });
      tables[name] = { today: count.events, pending: pending[name], last };
    }
    return { day: from.toISOString().slice(0, 10), tables: tables as RecentEvents['tables'] };
  }
}
