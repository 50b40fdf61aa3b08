import { RowOf } from './table-contract';
import { telemetry } from './telemetry.contract';
import { websiteEvents } from './website-events.contract';

/** Every table the API writes. Adding a table is a contract here plus its sql/tables/<name>.sql. */
export const TABLE_CONTRACTS = [telemetry, websiteEvents] as const;

export type TableContracts = (typeof TABLE_CONTRACTS)[number];
export type TableName = TableContracts['name'];
export type ContractOf<T extends TableName> = Extract<TableContracts, { name: T }>;
export type TableRow<T extends TableName> = RowOf<ContractOf<T>['columns']>;

export const TABLE_NAMES: readonly TableName[] = TABLE_CONTRACTS.map((c) => c.name);

export function contractOf<T extends TableName>(name: T): ContractOf<T> {
  return TABLE_CONTRACTS.find((c) => c.name === name) as ContractOf<T>;
}
