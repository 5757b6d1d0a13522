/**
 * How a Node driver runs its sans-IO engine from IO callbacks, which may nest (an event
 * handler that calls the engine again): run(f) calls f, and the outermost run then moves the
 * engine's output (`drain`: datagrams out, events acted on, the timer re-armed). A nested run
 * only calls f; the run around it moves what f produced.
 */
export class Pump {
  private depth = 0;

  constructor(private readonly drain: () => void) {}

  run(f: () => void): void {
    this.depth++;
    try {
      f();
    } finally {
      this.depth--;
    }
    if (this.depth > 0) return;
    this.depth++;
    try {
      this.drain();
    } finally {
      this.depth--;
    }
  }
}
