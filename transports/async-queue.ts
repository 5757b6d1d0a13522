/**
 * Values a driver receives (notifications of an observation), read with `for await`: push()
 * adds one, end() finishes the queue once, with an error the reader's loop throws or null for
 * a plain end. Values pushed before the end are still read.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;
  private ended: Error | null | undefined;

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  /** Ends the queue; false (and nothing changes) when it had ended already. */
  end(e: Error | null): boolean {
    if (this.ended !== undefined) return false;
    this.ended = e;
    this.wake?.();
    return true;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.items.length > 0) {
        yield this.items.shift() as T;
        continue;
      }
      if (this.ended !== undefined) {
        if (this.ended) throw this.ended;
        return;
      }
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}
