import type { CoapOption } from '../coap/message.js';
import type { BootstrapAccount, ServerAccountInfo } from './client-accounts.js';
import type { Lwm2mClientCoreOptions, Lwm2mClientEvent } from './client-driver.js';
import type { CoapAgent } from './coap-agent.js';
import type { ClientObservations } from './client-observations.js';
import type { QueueMode } from './client-queue.js';
import type { Trigger } from './client-serve.js';
import type { ObjectStore, SnapshotObject } from './object-store.js';
import type { AttributeStore } from './attributes.js';
import type { SecurityConfig } from './security.js';
import type { ClientState } from './storage.js';

/**
 * Where an LwM2M client is, as a discriminated union in the manner of the DTLS handshake
 * states (lib/dtls/handshake/state.ts): each phase holds only what is known and valid in it,
 * and the functions of client-bootstrap.ts and client-registration.ts take a phase and return
 * the next one. The core (client-core.ts) holds the current phase and routes the driver's calls
 * and the CoAP agent's results to it.
 */
export type ClientPhase = Idle | HoldOff | RetryWait | Bootstrapping | Registering | Registered | Deregistering;

/** Nothing runs: before start(), after stop(), after bootstrap() or an attempt given up. */
export interface Idle {
  readonly kind: 'idle';
}
export const IDLE: Idle = { kind: 'idle' };

/** Waiting out the Client Hold Off Time (/0/x/11) before the first Bootstrap-Request. */
export interface HoldOff {
  readonly kind: 'holdoff';
  readonly until: number;
}

/** An attempt failed: the next one starts at `until`. */
export interface RetryWait {
  readonly kind: 'retry';
  readonly until: number;
}

/** A client-initiated bootstrap (OMA-TS-LightweightM2M-Core §5.2.7.2) on its own channel. */
export interface Bootstrapping {
  readonly kind: 'bootstrap';
  readonly channel: number;
  readonly account: BootstrapAccount;
  /** The Security and Server objects to return to if the attempt fails. */
  readonly before: SnapshotObject[];
  readonly started: number;
  readonly step: BootstrapStep;
}

export type BootstrapStep =
  /** The channel is opening; the inactivity timer runs from the start of the attempt. */
  | { readonly stage: 'connecting'; readonly inactiveAt: number }
  /** The Bootstrap-Request was sent (`request` until it is answered); the server's commands are served. */
  | { readonly stage: 'commands'; readonly request: number | undefined; readonly inactiveAt: number }
  /** Bootstrap-Finish was answered (2.04, or 4.06 with the reason): acted on once that answer is out. */
  | { readonly stage: 'finished'; readonly request: number | undefined; readonly verdict: 'accepted' | Error }
  /** The channel is closed; the driver is writing `state` ('persist'), persisted() comes next. */
  | { readonly stage: 'saving'; readonly state: ClientState };

/** Registering (OMA-TS Core §5.3.1) on a new channel. */
export interface Registering {
  readonly kind: 'register';
  readonly channel: number;
  readonly account: ServerAccountInfo;
  readonly started: number;
  readonly step:
    | { readonly stage: 'connecting' }
    /** The Register is in flight since `sentAt` (the lifetime counts from then). */
    | { readonly stage: 'sent'; readonly request: number; readonly sentAt: number };
}

/** Registered: Updates before the lifetime ends, requests served, observers notified. */
export interface Registered {
  readonly kind: 'registered';
  readonly registration: Registration;
  readonly update:
    | { readonly stage: 'scheduled'; readonly at: number }
    /** An Update is in flight since `sentAt` (the next one counts from then). */
    | { readonly stage: 'sent'; readonly request: number; readonly sentAt: number };
  /** The server executed a trigger of its Server object (/1/x/8, /1/x/9): acted on once the 2.04 is out. */
  readonly trigger: Trigger | undefined;
}

export interface Registration {
  readonly channel: number;
  readonly uri: string;
  readonly location: string;
  /** Uri-Path of the location, for the Updates. */
  readonly locationPath: CoapOption[];
  readonly lifetimeS: number;
  readonly shortServerId: number;
  /** The server's observations, notified when the application changes what they observe. */
  readonly observations: ClientObservations;
  /** Queue mode ("Q" in the Register): whether the client listens. */
  readonly queue: QueueMode | undefined;
  /** Send requests in flight. */
  readonly sends: Set<number>;
  /** Ends the store subscription that marks observations changed. */
  readonly unsubscribe: () => void;
}

/** stop() (or a Bootstrap-Request Trigger) sent the De-register (OMA-TS Core §5.3.3); its answer ends it. */
export interface Deregistering {
  readonly kind: 'deregister';
  readonly channel: number;
  readonly request: number;
  readonly location: string;
  /** What follows: 'stopped', or a client-initiated bootstrap (the Bootstrap-Request Trigger). */
  readonly then: 'stop' | 'bootstrap';
}

/** The timer of a phase: hold-off, retry, bootstrap inactivity, or the next Update (or the end of a queue-mode client's quiet period). */
export function deadlineOf(p: ClientPhase): number | undefined {
  switch (p.kind) {
    case 'holdoff':
    case 'retry':
      return p.until;
    case 'bootstrap':
      return p.step.stage === 'connecting' || p.step.stage === 'commands' ? p.step.inactiveAt : undefined;
    case 'registered': {
      const update = p.update.stage === 'scheduled' ? p.update.at : undefined;
      const sleep = p.registration.queue?.deadline();
      return update === undefined ? sleep : sleep === undefined ? update : Math.min(update, sleep);
    }
    default:
      return undefined;
  }
}

/**
 * What a phase may do to its client: read the options and the store, use the CoAP agent, ask
 * the driver for channels, report events, and end an attempt. The core implements it; phases
 * never see the core itself.
 */
export interface ClientContext {
  readonly opts: Lwm2mClientCoreOptions;
  readonly store: ObjectStore;
  /** The notification attributes the servers wrote. */
  readonly attributes: AttributeStore;
  readonly agent: CoapAgent<number>;
  /** The preferred content format (pct=, and ct= of the Register links). */
  readonly pct: number;
  log(line: string): void;
  emit(e: Lwm2mClientEvent): void;
  /** A new channel to `uri` with these credentials: an 'open' event (without them); returns its id. */
  openChannel(uri: string, security: SecurityConfig): number;
  /** Forgets a channel and asks the driver to close it; nothing when it is gone already. */
  closeChannel(now: number, channel: number): void;
  /** An attempt failed: 'error', then the retry wait (doubling), or idle when given up. */
  failAttempt(now: number, e: Error): ClientPhase;
  /** An attempt succeeded (registered): the next failure waits the first retry delay again. */
  succeeded(): void;
  /** The bootstrap is complete (and persisted): 'bootstrapped', then register (or idle after bootstrap()). */
  bootstrapped(now: number): ClientPhase;
  /** stop() is complete: every channel closed, 'stopped'. */
  stopped(now: number): Idle;
}
