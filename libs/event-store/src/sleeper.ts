/**
 * A sleep that can be cut short: background loops wait for their poll interval or for a wake-up
 * (an append in this process, a NOTIFY from another), whichever comes first.
 */
export class Sleeper {
  private wakeCurrent: (() => void) | undefined;
  private woken = false;

  /** Resolves after `ms`, or sooner on `wake()`; at once if woken since the last sleep. Never keeps the process alive. */
  sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeCurrent = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.wakeCurrent = done;
    });
  }

  /**
   * Ends the current sleep, or the next one before it starts: a wake-up that arrives while the
   * loop is busy (an append committed during its last read) is not lost.
   */
  wake(): void {
    if (this.wakeCurrent) this.wakeCurrent();
    else this.woken = true;
  }
}
