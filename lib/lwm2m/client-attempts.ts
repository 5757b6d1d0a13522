import { retryMs, type Lwm2mClientCoreOptions, type Lwm2mClientEvent } from './client-driver.js';
import { IDLE, type ClientPhase } from './client-phases.js';

/**
 * How the client's bootstrap and registration attempts end when they fail: retried after a
 * delay that doubles from retryMs up to 64x, or given up ('once' mode, retryMs 0), or ended
 * quietly while stopping.
 */
export class Attempts {
  /** 'once': a single bootstrap attempt (bootstrap()), no retry, no registration after it. */
  mode: 'run' | 'once' = 'run';
  /** stop() was called: a failure ends nothing more. */
  stopping = false;
  /** Failed attempts since the last success. */
  private failures = 0;

  constructor(
    private readonly opts: Lwm2mClientCoreOptions,
    private readonly log: (line: string) => void,
    private readonly emit: (e: Lwm2mClientEvent) => void,
  ) {}

  /** Nothing failed since start() or the last success (the Client Hold Off Time applies). */
  get first(): boolean {
    return this.failures === 0;
  }

  /** A new run (start(), bootstrap()), or an attempt succeeded. */
  reset(): void {
    this.failures = 0;
  }

  /** An attempt failed: 'error', then the retry wait, or idle when given up. */
  fail(now: number, e: Error): ClientPhase {
    const first = retryMs(this.opts);
    if (this.stopping) return IDLE;
    if (this.mode === 'once' || first === 0) {
      this.log(e.message);
      this.emit({ type: 'error', error: e, retryInMs: undefined });
      return IDLE;
    }
    const wait = first * 2 ** Math.min(this.failures, 6);
    this.failures++;
    this.log(`${e.message}; retrying in ${Math.round(wait / 1000)} s`);
    this.emit({ type: 'error', error: e, retryInMs: wait });
    return { kind: 'retry', until: now + wait };
  }
}
