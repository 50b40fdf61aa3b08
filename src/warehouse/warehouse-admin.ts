/** The setup role: `npm run warehouse:setup` on every deploy. */
export interface WarehouseAdmin {
  /** Creates what is missing (dataset, tables, new nullable columns, views) and says what it did. */
  applySchema(): Promise<string[]>;

  close(): Promise<void>;
}
