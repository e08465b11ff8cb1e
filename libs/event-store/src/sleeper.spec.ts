import { Sleeper } from './sleeper';

describe('Sleeper', () => {
  it('is cut short by a wake-up', async () => {
    const sleeper = new Sleeper();
    const slept = sleeper.sleep(60_000);
    sleeper.wake();
    await expect(slept).resolves.toBeUndefined();
  });

  it('keeps a wake-up that arrives while not sleeping for the next sleep', async () => {
    const sleeper = new Sleeper();
    sleeper.wake();
    await expect(sleeper.sleep(60_000)).resolves.toBeUndefined();
  });

  it('sleeps the full time when nobody wakes it', async () => {
    const sleeper = new Sleeper();
    let done = false;
    const slept = sleeper.sleep(30).then(() => (done = true));
    expect(done).toBe(false);
    await slept;
    expect(done).toBe(true);
  });
});
