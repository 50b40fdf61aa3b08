import { TIMED_OUT, within } from './within';

describe('within', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('answers what the work settles to before the time runs out, and clears its timer', async () => {
    await expect(within(Promise.resolve('done'), 1000)).resolves.toBe('done');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('answers TIMED_OUT once the time runs out first, and clears its timer', async () => {
    const answer = within(new Promise(() => undefined), 1000);
    jest.advanceTimersByTime(999);
    let settled = false;
    void answer.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    jest.advanceTimersByTime(1);
    await expect(answer).resolves.toBe(TIMED_OUT);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('rethrows a rejection of the work, and clears its timer', async () => {
    await expect(within(Promise.reject(new Error('refused')), 1000)).rejects.toThrow('refused');
    expect(jest.getTimerCount()).toBe(0);
  });
});
