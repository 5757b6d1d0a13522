/**
 * Queue mode on the client (OMA-TS-LightweightM2M-Core 1.1 §6.5, "Q" in the Register): after
 * MAX_TRANSMIT_WAIT without an exchange with its server the client stops listening (a sleepy
 * device powers its radio down; the server keeps what it has for the client until it hears from
 * it again); it wakes for its own Registration Update, or for a local event that has something
 * to send (a notification, a Send). While it sleeps, datagrams from the server are not heard.
 */
export type Listening =
  /** Listening until `sleepAt` unless another exchange comes first. */
  | { readonly kind: 'awake'; readonly sleepAt: number }
  | { readonly kind: 'asleep'; readonly since: number };

export class QueueMode {
  private state: Listening;

  constructor(
    now: number,
    /** How long a quiet client listens (MAX_TRANSMIT_WAIT, RFC 7252 §4.8.2: 93 s by default). */
    readonly quietMs: number,
  ) {
    this.state = { kind: 'awake', sleepAt: now + quietMs };
  }

  get asleep(): boolean {
    return this.state.kind === 'asleep';
  }

  get listening(): Listening {
    return this.state;
  }

  /** A datagram went out to the server or came from it: the quiet period starts again. */
  activity(now: number): void {
    if (this.state.kind === 'awake') this.state = { kind: 'awake', sleepAt: Math.max(this.state.sleepAt, now + this.quietMs) };
  }

  /** Listens again; true when it was asleep. */
  wake(now: number): boolean {
    const was = this.asleep;
    this.state = { kind: 'awake', sleepAt: now + this.quietMs };
    return was;
  }

  /** When the quiet period ends (none while asleep). */
  deadline(): number | undefined {
    return this.state.kind === 'awake' ? this.state.sleepAt : undefined;
  }

  /**
   * The quiet period ended at `now`: the client stops listening (true), unless a request of
   * its own still waits for its answer (`busy`), which keeps it listening a while longer.
   */
  timer(now: number, busy: boolean, retryMs: number): boolean {
    if (this.state.kind !== 'awake' || this.state.sleepAt > now) return false;
    if (busy) {
      this.state = { kind: 'awake', sleepAt: now + retryMs };
      return false;
    }
    this.state = { kind: 'asleep', since: now };
    return true;
  }
}
