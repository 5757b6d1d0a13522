import type { CryptoProvider } from '../crypto/provider.js';
import { ctEqual } from '../bytes/util.js';
import { HmacSha256Key } from '../crypto/sha256.js';
import type { ClientHello } from './wire/client-hello.js';

export const COOKIE_LENGTH = 16;

/**
 * Stateless cookies (RFC 6347 §4.2.1): HMAC-SHA256 over the peer address and the ClientHello
 * parameters that must repeat (version, random, session_id, cipher_suites,
 * compression_methods), truncated to 16 bytes. The secret rotates; a cookie made with the
 * previous secret is still accepted, so a cookie lives between one and two rotation periods.
 */
type MacKey = ReturnType<CryptoProvider['hmacSha256Key']>;

/** The MAC's input, shared by every cookie (sized for the largest ClientHello seen). */
let input = new Uint8Array(256);
const DIGEST = new Uint8Array(32);
const PARTS = [DIGEST];
/** The cookie a ClientHello should carry, made to be checked against it (public bytes). */
const CHECKED = new Uint8Array(COOKIE_LENGTH);

export class CookieJar {
  private secret: MacKey;
  private previous: MacKey | undefined;
  private rotateAt: number | undefined;

  constructor(
    private readonly crypto: CryptoProvider,
    private readonly rotationMs = 300_000,
  ) {
    this.secret = this.newSecret();
  }

  private newSecret(): MacKey {
    const raw = this.crypto.random(32);
    const key = this.crypto.hmacSha256Key(raw);
    raw.fill(0);
    return key;
  }

  private rotate(now: number): void {
    if (this.rotateAt === undefined) {
      this.rotateAt = now + this.rotationMs;
      return;
    }
    if (now < this.rotateAt) return;
    // More than two periods idle: both secrets are stale.
    this.previous = now >= this.rotateAt + this.rotationMs ? undefined : this.secret;
    this.secret = this.newSecret();
    this.rotateAt = now + this.rotationMs;
  }

  make(now: number, peer: string, ch: ClientHello): Uint8Array {
    this.rotate(now);
    return this.cookie(this.secret, peer, ch, new Uint8Array(COOKIE_LENGTH));
  }

  verify(now: number, peer: string, ch: ClientHello): boolean {
    this.rotate(now);
    const c = ch.cookie;
    if (c.length !== COOKIE_LENGTH) return false;
    if (ctEqual(this.cookie(this.secret, peer, ch, CHECKED), c)) return true;
    return this.previous !== undefined && ctEqual(this.cookie(this.previous, peer, ch, CHECKED), c);
  }

  /**
   * The cookie (the MAC's first 16 bytes, over the peer and the ClientHello's fields) into `out`:
   * copied, not a view (a view of the small digest would move it off the V8 heap).
   */
  private cookie(secret: MacKey, peer: string, ch: ClientHello, out: Uint8Array): Uint8Array {
    // peer (its char codes: an address is ASCII) ‖ the ClientHello fields, in a scratch buffer
    // reused by every cookie (what goes in is public; one buffer, not two, per cookie)
    const n = peer.length + 2 + 32 + 1 + ch.sessionId.length + 2 * ch.cipherSuites.length + ch.compressionMethods.length;
    if (input.length < n) input = new Uint8Array(Math.max(n, 2 * input.length));
    const params = input;
    let o = 0;
    for (let i = 0; i < peer.length; i++) params[o++] = peer.charCodeAt(i);
    params[o++] = ch.clientVersion >>> 8;
    params[o++] = ch.clientVersion & 0xff;
    params.set(ch.random, o);
    o += 32;
    params[o++] = ch.sessionId.length;
    params.set(ch.sessionId, o);
    o += ch.sessionId.length;
    for (const s of ch.cipherSuites) {
      params[o++] = s >>> 8;
      params[o++] = s & 0xff;
    }
    params.set(ch.compressionMethods, o);
    const data = params.subarray(0, n);
    let mac: Uint8Array;
    if (secret instanceof HmacSha256Key) {
      // into a scratch digest, no array of its own (the cookie is public: it goes on the wire)
      PARTS[0] = data;
      secret.macInto(DIGEST, 0, PARTS);
      mac = DIGEST;
    } else mac = secret.mac(data);
    for (let i = 0; i < COOKIE_LENGTH; i++) out[i] = mac[i]!;
    return out;
  }
}
