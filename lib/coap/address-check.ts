import { ctEqual } from '../bytes/util.js';
import { defaultCrypto } from '../crypto/default.js';
import type { CryptoProvider } from '../crypto/provider.js';

/**
 * Amplification protection for CoAP over plain UDP (RFC 7252 §11.3, RFC 9175 §2.4 item 3).
 * A datagram's source address can be forged, so until an address is verified whatever answers
 * a request is at most `factor` times the request's size; a larger answer, a Block2 follow-up
 * and an observation are refused with 4.01 Unauthorized carrying an Echo option (RFC 9175
 * §2.2), and a client that repeats the request with that Echo value proves it receives at the
 * address. Echo values are stateless: a 4-byte time (seconds) and 8 bytes of HMAC-SHA256 over
 * it and the peer, with a random secret, valid for echoLifetimeMs; only a verified address
 * takes state, at most maxVerified of them (the longest verified goes first), each for
 * verifiedMs.
 */
export interface AddressCheckOptions {
  /** Largest answer to an unverified address, as a multiple of the request's size (RFC 9175: 3). */
  factor: number;
  /** How long an address stays verified. */
  verifiedMs: number;
  /** How long an Echo value is accepted after it was made. */
  echoLifetimeMs: number;
  maxVerified: number;
  crypto?: CryptoProvider;
}

export const DEFAULT_ADDRESS_CHECK: AddressCheckOptions = { factor: 3, verifiedMs: 247_000, echoLifetimeMs: 60_000, maxVerified: 100_000 };

const ECHO_LENGTH = 12;
const enc = new TextEncoder();

export class AddressCheck<P> {
  private readonly opts: AddressCheckOptions;
  private readonly hmac: { mac(...data: Uint8Array[]): Uint8Array };
  /** Verified peers -> until when, in order of verification (so of expiry). */
  private readonly verified = new Map<P, number>();

  constructor(
    private readonly peerKey: (p: P) => string,
    opts: Partial<AddressCheckOptions> = {},
  ) {
    this.opts = { ...DEFAULT_ADDRESS_CHECK, ...opts };
    const crypto = this.opts.crypto ?? defaultCrypto();
    this.hmac = crypto.hmacSha256Key(crypto.random(32));
  }

  get factor(): number {
    return this.opts.factor;
  }

  get verifiedCount(): number {
    return this.verified.size;
  }

  isVerified(now: number, peer: P): boolean {
    const until = this.verified.get(peer);
    if (until === undefined) return false;
    if (until > now) return true;
    this.verified.delete(peer);
    return false;
  }

  /** A fresh Echo value for this peer. */
  echo(now: number, peer: P): Uint8Array {
    const t = Math.floor(now / 1000) >>> 0;
    const v = new Uint8Array(ECHO_LENGTH);
    v[0] = t >>> 24;
    v[1] = (t >>> 16) & 0xff;
    v[2] = (t >>> 8) & 0xff;
    v[3] = t & 0xff;
    v.set(this.tag(v.subarray(0, 4), peer), 4);
    return v;
  }

  /** Takes an Echo value a request carried: true (and the peer verified) when it is ours, for this peer, and fresh. */
  accept(now: number, peer: P, value: Uint8Array): boolean {
    if (value.length !== ECHO_LENGTH) return false;
    const t = ((value[0]! << 24) | (value[1]! << 16) | (value[2]! << 8) | value[3]!) >>> 0;
    const age = (Math.floor(now / 1000) >>> 0) - t;
    if (age < 0 || age * 1000 > this.opts.echoLifetimeMs) return false;
    if (!ctEqual(this.tag(value.subarray(0, 4), peer), value.subarray(4))) return false;
    this.verified.delete(peer);
    if (this.verified.size >= this.opts.maxVerified) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(peer, now + this.opts.verifiedMs);
    return true;
  }

  /** Forgets verifications that ended by `now` (they are in expiry order). */
  sweep(now: number): void {
    for (const [peer, until] of this.verified) {
      if (until > now) break;
      this.verified.delete(peer);
    }
  }

  forget(peer: P): void {
    this.verified.delete(peer);
  }

  private tag(time: Uint8Array, peer: P): Uint8Array {
    return this.hmac.mac(time, enc.encode(this.peerKey(peer))).subarray(0, ECHO_LENGTH - 4);
  }
}
