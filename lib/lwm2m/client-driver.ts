import type { TransmissionParameters } from '../coap/config.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { FactoryBootstrap } from './client-accounts.js';
import type { FirmwareOptions } from './client-firmware.js';
import type { ConnectionIdOption } from './client-sessions.js';
import type { WallClock } from './device.js';
import type { ObjectStore } from './object-store.js';
import type { SecurityConfig } from './security.js';

/**
 * What the LwM2M client core and its driver say to each other: the options a driver passes
 * in, and the events it acts on. The events carry no key material: a driver that needs the
 * credentials of a channel or the state to persist asks the core for them at that moment
 * (Lwm2mClientCore.channelSecurity(), .persistentState()).
 */
export interface Lwm2mClientCoreOptions {
  /** The endpoint client name (ep=). */
  endpoint: string;
  store: ObjectStore;
  /** Factory bootstrap account, used when no bootstrapped configuration exists. */
  bootstrap?: FactoryBootstrap;
  transmission?: Partial<TransmissionParameters>;
  /** Preferred content format announced with pct= and in the Register links (default SenML CBOR, 112). */
  preferredContentFormat?: number;
  /** The bootstrap session fails after this long without a bootstrap command (default EXCHANGE_LIFETIME, 247 s). */
  bootstrapInactivityMs?: number;
  /** First retry delay after a failed bootstrap or registration (doubles, up to 64x; 0: give up at once). Default 30 s. */
  retryMs?: number;
  /** Send the Update this long before the lifetime ends (default: 10% of it, at least 2 s). */
  updateMarginMs?: (lifetimeMs: number) => number;
  /** Emit 'persist' after a bootstrap and wait for persisted() before using the new configuration. */
  persist?: boolean;
  /** Wall clock for the persisted state's savedAt. */
  wallClock?: WallClock;
  /** Parses raw public key credentials when checking accounts (default: the registered provider). */
  crypto?: CryptoProvider;
  /** Random bytes for CoAP tokens and message IDs. */
  random?: (n: number) => Uint8Array;
  /** Block size of our uploads and answers (16..1024, default 1024). */
  blockSize?: number;
  /** Bootstrap-Request, Register and Update fail after this long without an answer (default 120 s). */
  requestTimeoutMs?: number;
  /**
   * Queue mode (LwM2M 1.1 "Q"): after MAX_TRANSMIT_WAIT (transmission.maxTransmitWaitMs, 93 s)
   * without an exchange the client stops listening, until its next Update or something to send
   * ('sleeping' / 'awake' events). Also on when the server account's binding has "Q".
   */
  queueMode?: boolean;
  /** The Firmware Update object (5): the application's install hook and integrity check. */
  firmware?: FirmwareOptions;
  /**
   * Called when the application changed the store and notifications may be due: the driver
   * should call handleTimeout(now) soon (pollTimeout() tells when).
   */
  wake?: () => void;
  /**
   * RFC 9146 Connection ID with the coaps:// servers (client-sessions.ts): the session survives
   * a NAT rebinding (the server follows our records to the new address; the registration and
   * its observations go on). Default: not offered.
   */
  connectionId?: ConnectionIdOption;
  /** Ask the servers for RFC 5077 session tickets (default: resumption by session ID). */
  sessionTickets?: boolean;
  /** Human-readable progress lines (no secrets). */
  log?: (line: string) => void;
}

/** What the client asks its driver to do, and what it reports. No event carries a key. */
export type Lwm2mClientEvent =
  /**
   * Open a channel to `uri` (a DTLS session for coaps://, a UDP association for coap://) and
   * report channelUp / channelFailed. The credentials of `mode` come from channelSecurity(channel).
   */
  | { type: 'open'; channel: number; uri: string; mode: SecurityConfig['mode'] }
  /** Close a channel (close_notify). Send what pollTransmit() gave for it first. */
  | { type: 'close'; channel: number }
  /**
   * The DTLS session of a channel is up: `resumed` by an abbreviated handshake (RFC 5246 §7.3),
   * with a Connection ID (RFC 9146) or not.
   */
  | { type: 'session'; channel: number; uri: string; resumed: boolean; connectionId: boolean }
  /** Write persistentState() (e.g. atomically to a file), then call persisted(). */
  | { type: 'persist' }
  | { type: 'bootstrapped' }
  | { type: 'registered'; location: string }
  | { type: 'updated'; location: string }
  | { type: 'deregistered'; location: string }
  /** Queue mode: the client stopped listening (a sleepy device may power its radio down now). */
  | { type: 'sleeping' }
  /** Queue mode: the client listens again. */
  | { type: 'awake' }
  /** The Send `id` was answered 2.04 (`code`), or another code. */
  | { type: 'sent'; id: number; code: number }
  | { type: 'send-failed'; id: number; error: Error }
  /** A bootstrap or registration attempt failed; retried after retryInMs, or given up when undefined. */
  | { type: 'error'; error: Error; retryInMs: number | undefined }
  /** stop() completed: every channel is closed. */
  | { type: 'stopped' };

const DEFAULT_INACTIVITY_MS = 247_000;
const DEFAULT_RETRY_MS = 30_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
/** How long a De-register may take before stop() gives up on it. */
export const DEREGISTER_TIMEOUT_MS = 10_000;

export const bootstrapInactivityMs = (o: Lwm2mClientCoreOptions): number => o.bootstrapInactivityMs ?? DEFAULT_INACTIVITY_MS;
export const retryMs = (o: Lwm2mClientCoreOptions): number => o.retryMs ?? DEFAULT_RETRY_MS;
export const requestTimeoutMs = (o: Lwm2mClientCoreOptions): number => o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
