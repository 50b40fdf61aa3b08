/**
 * A small cache of promises: each entry lives `ttlMs`, at most `maxEntries` are kept (the
 * oldest go first), and a failed load is forgotten at once so that the next caller retries.
 * Concurrent callers of the same key share one load.
 */
export class ResultCache<T> {
  private readonly entries = new Map<string, { value: Promise<T>; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached value of `key`, or load()'s; `hit` says which. */
  get(key: string, load: () => Promise<T>): { value: Promise<T>; hit: boolean } {
    const entry = this.entries.get(key);
    if (entry && entry.expires > this.now()) return { value: entry.value, hit: true };
    this.entries.delete(key);
    const value = load();
    this.entries.set(key, { value, expires: this.now() + this.ttlMs });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return { value, hit: false };
  }

  get size(): number {
    return this.entries.size;
  }
}
