import type { AgentEvent, CoapAgent } from './coap-agent.js';
import { BlockDownload, UpdateResult } from './firmware-download.js';
import type { SecurityConfig } from './security.js';

/** What a Package URI download needs from the client core. */
export interface PullContext {
  agent: CoapAgent<number>;
  log(line: string): void;
  openChannel(uri: string, security: SecurityConfig): number;
  closeChannel(now: number, channel: number): void;
  /** Credentials for a coaps:// package server (its Security instance, else the LwM2M server's). */
  securityFor(uri: string): SecurityConfig;
}

export interface PullOptions {
  blockSize: number;
  maxSize: number;
  /** Failed attempts in a row before the download stops. */
  maxRetries: number;
  /** Wait before the next attempt after a failed one, ms. */
  retryDelayMs: number;
}

/** How a download ended: the image, or an Update Result and why. */
export type PullOutcome = { readonly kind: 'done'; readonly image: Uint8Array } | { readonly kind: 'failed'; readonly result: number; readonly why: string };

/**
 * A Package URI download (object 5 "pull") on a channel of its own, opened through the client's
 * channel machinery (a DTLS session for coaps://, a UDP association for coap://): one Block2
 * request at a time (firmware-download.ts), and after a failure (a block unanswered after the
 * CoAP retransmissions, the session lost) a new attempt after `retryDelayMs` that asks for the
 * block it was at, on a new channel when the old one is gone. A URI where nothing ever answers
 * is Update Result 7 (invalid URI); a download that stops after some blocks, 4 (connection lost).
 */
export class PackagePull {
  private readonly download: BlockDownload;
  private channel: number | undefined;
  private up = false;
  private request: number | undefined;
  private failures = 0;
  private retryAt: number | undefined;

  constructor(
    readonly uri: string,
    target: { path: string; query: string[] },
    private readonly cx: PullContext,
    private readonly o: PullOptions,
  ) {
    this.download = new BlockDownload(target, o.blockSize, o.maxSize);
    this.open();
  }

  /** Whether a channel is this download's. */
  owns(channel: number): boolean {
    return this.channel === channel;
  }

  channelUp(now: number, channel: number): void {
    if (channel !== this.channel) return;
    this.up = true;
    this.ask(now);
  }

  /** The channel could not be opened, or was lost (the core forgot it already). */
  channelGone(now: number, channel: number, reason: string): PullOutcome | undefined {
    if (channel !== this.channel) return undefined;
    const reached = this.up || this.download.offset > 0;
    this.channel = undefined;
    this.up = false;
    this.request = undefined;
    if (!reached) return { kind: 'failed', result: UpdateResult.InvalidUri, why: `nothing answers at ${this.uri} (${reason})` };
    return this.retry(now, reason);
  }

  /** A CoAP result: undefined when it is not this download's, else the outcome (or 'running'). */
  answered(now: number, e: AgentEvent): PullOutcome | 'running' | undefined {
    if (e.id !== this.request) return undefined;
    this.request = undefined;
    if (e.type === 'error') return this.retry(now, e.error.message) ?? 'running';
    const outcome = this.download.accept(e.response);
    switch (outcome.kind) {
      case 'more':
        this.failures = 0;
        this.ask(now);
        return 'running';
      case 'restart':
        this.cx.log(`firmware: ${outcome.why}: downloading again from the start`);
        this.download.reset();
        return this.retry(now, outcome.why) ?? 'running';
      case 'failed':
        return { kind: 'failed', result: outcome.result, why: outcome.why };
      case 'done':
        this.close(now);
        return { kind: 'done', image: outcome.image };
    }
  }

  deadline(): number | undefined {
    return this.retryAt;
  }

  timer(now: number): void {
    if (this.retryAt === undefined || this.retryAt > now) return;
    this.retryAt = undefined;
    if (this.channel === undefined) this.open();
    else if (this.up) this.ask(now);
  }

  /** Stops: the request cancelled, the channel closed. */
  close(now: number): void {
    if (this.request !== undefined) this.cx.agent.cancel(now, this.request);
    if (this.channel !== undefined) this.cx.closeChannel(now, this.channel);
    this.request = undefined;
    this.channel = undefined;
    this.up = false;
    this.retryAt = undefined;
  }

  // ------------------------------------------------------------------------------------

  private open(): void {
    this.channel = this.cx.openChannel(this.uri, this.cx.securityFor(this.uri));
  }

  private ask(now: number): void {
    if (this.channel === undefined || !this.up || this.request !== undefined) return;
    this.request = this.cx.agent.request(now, this.channel, this.download.request(), { raw: true });
  }

  private retry(now: number, why: string): PullOutcome | undefined {
    this.failures++;
    if (this.failures > this.o.maxRetries) return { kind: 'failed', result: this.download.offset > 0 ? UpdateResult.ConnectionLost : UpdateResult.InvalidUri, why: `${why} (${this.failures} attempts)` };
    this.cx.log(`firmware: ${why}; resuming at byte ${this.download.offset} in ${this.o.retryDelayMs / 1000} s`);
    this.retryAt = now + this.o.retryDelayMs;
    return undefined;
  }
}
