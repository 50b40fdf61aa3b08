/** What within() answers when the time ran out first. */
export const TIMED_OUT = Symbol('timed out');

/**
 * What `work` settles to, or TIMED_OUT when `ms` pass first; a rejection of `work` is rethrown.
 * The timer is cleared either way, so that it never holds the process open. `work` itself is not
 * cancelled: the caller decides what a late answer means.
 */
export async function within<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), ms)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
