import { DecodeError, Reader } from '../bytes/reader.js';
import { equal, utf8, wipe } from '../bytes/util.js';
import { Writer } from '../bytes/writer.js';
import { CCM8_TAG_LENGTH, type CryptoProvider } from '../crypto/provider.js';
import { DtlsError } from './errors.js';
import { checkTime, MASTER_SECRET_LENGTH, readResumableSession, writeResumableSession, type ResumableSession } from './resumable-session.js';

/**
 * RFC 5077 session tickets, the server's side: the state needed to resume a session, sealed
 * into an opaque ticket that only this server (or a server holding the same secret) can open.
 * Our construction:
 * ```
 * struct {
 *   opaque key_name[8];            // which key sealed it: HMAC-SHA256(secret, "coaps ticket name")[0..7]
 *   opaque nonce[12];              // random, one per ticket
 *   opaque sealed_state[];         // the rest: AES-128-CCM_8(key, nonce, aad = key_name, TicketState), tag included
 * } Ticket;                        // key = HMAC-SHA256(secret, "coaps ticket key")[0..15]
 *
 * struct {
 *   uint8 format;                  // 1
 *   uint48 expires_at;             // milliseconds, the caller's clock
 *   ResumableSessionState session; // resumable-session.ts: suite, EMS flag, master secret, created_at, peer
 * } TicketState;
 * ```
 * This follows the shape of RFC 5077 §4's recommendation (key_name ‖ IV ‖ encrypted_state ‖
 * MAC) with one AEAD in place of AES-CBC + HMAC-SHA-256: the crypto provider has AES-128-CCM
 * (it is the record cipher, checked against node:crypto in both providers) and no CBC, and an
 * AEAD authenticates and encrypts in one pass with one key. Its 8-byte tag is the strength of
 * every record of the session; a forger also gains nothing from a lucky tag, because the state
 * it would open to holds a master secret the forger does not know, so the abbreviated
 * handshake's Finished fails. The nonce is random: with 96 bits and a key that rotates, a repeat
 * is negligible (below 2^-60 after 2^18 tickets per key). An AEAD reveals the state's length
 * (here, the peer identity's length), as RFC 5077 §4's construction does.
 *
 * Keys rotate as the cookie secret does (cookie.ts): a current key seals, the previous one still
 * opens, older ones are gone (RFC 5077 §5.5), so a ticket opens for one to two rotation periods.
 * The lifetime counts from the session's full handshake (`createdAt`), so resuming never extends
 * a session. Time is always an input; tickets that must outlive the process need the same
 * clock on every server that opens them (a wall clock) and the same secret (installSecret).
 */
export interface TicketOptions {
  /** How long a session may be resumed by ticket, from its full handshake, in ms. Default 24 h (RFC 5246 §F.1.4's upper limit for session IDs). */
  lifetimeMs?: number;
  /**
   * How often a new sealing key is drawn, in ms; at least lifetimeMs, so that a ticket opens for
   * all of its lifetime. Infinity: only installSecret changes keys (servers sharing one secret).
   * Default: lifetimeMs.
   */
  rotationMs?: number;
}

/** A sealed ticket, for a NewSessionTicket. */
export interface SealedTicket {
  readonly ticket: Uint8Array;
  /** ticket_lifetime_hint: whole seconds left until it expires (at least 1, 0 would mean "unspecified"). */
  readonly lifetimeHint: number;
}

/** What a valid ticket opens to: the session, and when the ticket stops opening. */
export interface OpenedTicket {
  readonly session: ResumableSession;
  readonly expiresAt: number;
}

const KEY_NAME_LENGTH = 8;
const NONCE_LENGTH = 12;
const FORMAT = 1;
/** The smallest TicketState: format, expires_at, suite, flags, master secret, created_at, an anonymous peer. */
const MIN_STATE_LENGTH = 1 + 6 + 2 + 1 + MASTER_SECRET_LENGTH + 6 + 1;
const MIN_TICKET_LENGTH = KEY_NAME_LENGTH + NONCE_LENGTH + MIN_STATE_LENGTH + CCM8_TAG_LENGTH;
export const DEFAULT_TICKET_LIFETIME_MS = 24 * 3600_000;
/** ticket_lifetime_hint is a uint32 of seconds. */
const MAX_LIFETIME_MS = 0xffffffff * 1000;
/** The smallest secret installSecret takes. */
export const MIN_TICKET_SECRET_LENGTH = 16;

interface TicketKey {
  readonly name: Uint8Array;
  readonly key: Uint8Array;
}

export class TicketSealer {
  readonly lifetimeMs: number;
  readonly rotationMs: number;
  private current: TicketKey;
  private previous: TicketKey | undefined;
  private rotateAt: number | undefined;

  constructor(
    private readonly crypto: CryptoProvider,
    o: TicketOptions = {},
  ) {
    const lifetime = o.lifetimeMs ?? DEFAULT_TICKET_LIFETIME_MS;
    const rotation = o.rotationMs ?? lifetime;
    if (!Number.isInteger(lifetime) || lifetime < 1000 || lifetime > MAX_LIFETIME_MS) {
      throw new DtlsError('INVALID_ARGUMENT', `ticket lifetimeMs must be a whole number of ms from 1000 to ${MAX_LIFETIME_MS}`);
    }
    if (rotation !== Infinity && (!Number.isInteger(rotation) || rotation < lifetime)) {
      throw new DtlsError('INVALID_ARGUMENT', 'ticket rotationMs must be a whole number of ms no shorter than lifetimeMs (or Infinity)');
    }
    this.lifetimeMs = lifetime;
    this.rotationMs = rotation;
    const raw = crypto.random(32);
    this.current = this.deriveKey(raw);
    wipe(raw);
  }

  /**
   * Seals a session into a ticket, or undefined when it must not be resumed: it has no extended
   * master secret (RFC 7627 §5.3), or its lifetime is over. Undefined means: send no ticket (or,
   * after promising one in the ServerHello, a NewSessionTicket with an empty ticket, RFC 5077 §3.3).
   */
  seal(now: number, session: ResumableSession): SealedTicket | undefined {
    if (!session.extendedMasterSecret) return undefined;
    const expiresAt = checkTime(session.createdAt, 'createdAt') + this.lifetimeMs;
    if (now >= expiresAt) return undefined;
    this.rotate(now);
    const state = new Writer(128).u8(FORMAT).u48(checkTime(expiresAt, 'expiresAt'));
    writeResumableSession(state, session);
    const plaintext = state.finish();
    state.wipe();
    const nonce = this.crypto.random(NONCE_LENGTH);
    const sealed = this.crypto.ccm8Encrypt(this.current.key, nonce, this.current.name, plaintext);
    wipe(plaintext);
    const ticket = new Uint8Array(KEY_NAME_LENGTH + NONCE_LENGTH + sealed.length);
    ticket.set(this.current.name, 0);
    ticket.set(nonce, KEY_NAME_LENGTH);
    ticket.set(sealed, KEY_NAME_LENGTH + NONCE_LENGTH);
    const lifetimeHint = Math.min(0xffffffff, Math.max(1, Math.floor((expiresAt - now) / 1000)));
    return { ticket, lifetimeHint };
  }

  /**
   * Opens a ticket a client presented. Undefined, never an exception, for anything that does not
   * resume: a foreign or malformed ticket, a key rotated out, a failed tag, an expired ticket,
   * a session without extended master secret.
   */
  open(now: number, ticket: Uint8Array): OpenedTicket | undefined {
    this.rotate(now);
    if (ticket.length < MIN_TICKET_LENGTH) return undefined;
    const name = ticket.subarray(0, KEY_NAME_LENGTH);
    const nonce = ticket.subarray(KEY_NAME_LENGTH, KEY_NAME_LENGTH + NONCE_LENGTH);
    const sealed = ticket.subarray(KEY_NAME_LENGTH + NONCE_LENGTH);
    for (const k of [this.current, this.previous]) {
      if (!k || !equal(k.name, name)) continue;
      const plaintext = this.crypto.ccm8Decrypt(k.key, nonce, k.name, sealed);
      if (!plaintext) continue;
      try {
        const opened = readState(plaintext);
        if (!opened) return undefined;
        if (now >= opened.expiresAt || !opened.session.extendedMasterSecret) {
          wipe(opened.session.masterSecret);
          return undefined;
        }
        return opened;
      } finally {
        wipe(plaintext);
      }
    }
    return undefined;
  }

  /**
   * Makes `secret` (at least 16 random bytes, 32 recommended) the sealing key; the current key
   * becomes the previous one. Servers that install the same secret open each other's tickets.
   * The secret is not kept (only what is derived from it).
   */
  installSecret(now: number, secret: Uint8Array): void {
    if (secret.length < MIN_TICKET_SECRET_LENGTH) throw new DtlsError('INVALID_ARGUMENT', `a ticket secret needs at least ${MIN_TICKET_SECRET_LENGTH} bytes`);
    this.replace(this.deriveKey(secret));
    this.rotateAt = now + this.rotationMs;
  }

  private deriveKey(secret: Uint8Array): TicketKey {
    const k = this.crypto.hmacSha256Key(secret);
    const name = k.mac(utf8('coaps ticket name')).slice(0, KEY_NAME_LENGTH);
    const keyBlock = k.mac(utf8('coaps ticket key'));
    const key = keyBlock.slice(0, 16);
    wipe(keyBlock);
    return { name, key };
  }

  private replace(next: TicketKey): void {
    if (this.previous) wipe(this.previous.key);
    this.previous = this.current;
    this.current = next;
  }

  private rotate(now: number): void {
    if (this.rotateAt === undefined) {
      this.rotateAt = now + this.rotationMs;
      return;
    }
    if (now < this.rotateAt) return;
    const stale = now >= this.rotateAt + this.rotationMs; // idle for more than a whole period: both keys are old
    const raw = this.crypto.random(32);
    this.replace(this.deriveKey(raw));
    wipe(raw);
    if (stale && this.previous) {
      wipe(this.previous.key);
      this.previous = undefined;
    }
    this.rotateAt = now + this.rotationMs;
  }
}

/** TicketState, or undefined when it is not one we write (authentic, so only a format change gets here). */
function readState(plaintext: Uint8Array): OpenedTicket | undefined {
  try {
    const r = new Reader(plaintext);
    if (r.u8('format') !== FORMAT) return undefined;
    const expiresAt = r.u48('expires_at');
    const session = readResumableSession(r);
    r.end('TicketState');
    return { session, expiresAt };
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}
