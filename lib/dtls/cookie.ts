import type { CryptoProvider } from '../crypto/provider.js';
import { ctEqual } from '../bytes/util.js';
import { HmacSha256Key } from '../crypto/sha256.js';
import { helloCookieAt } from './wire/client-hello-layout.js';

export const COOKIE_LENGTH = 16;

/**
 * Stateless cookies (RFC 6347 §4.2.1): HMAC-SHA256 over the peer address and the ClientHello
 * parameters that must repeat (version, random, session_id, cipher_suites,
 * compression_methods: the body's bytes before and after the cookie, up to the extensions),
 * truncated to 16 bytes. Made and checked from the body as it came (client-hello-layout.ts):
 * a first ClientHello is answered with nothing decoded. The secret rotates; a cookie made with
 * the previous secret is still accepted, so a cookie lives between one and two rotation periods.
 */
type MacKey = ReturnType<CryptoProvider['hmacSha256Key']>;

/** The MAC's input, shared by every cookie (sized for the largest ClientHello seen). */
let input = new Uint8Array(256);
const DIGEST = new Uint8Array(32);
const PARTS = [DIGEST];
/** The cookie a ClientHello should carry, made to be checked against it (public bytes). */
const CHECKED = new Uint8Array(COOKIE_LENGTH);
/** What make() returns: valid until the next make() (its caller writes it into the HelloVerifyRequest). */
const MADE = new Uint8Array(COOKIE_LENGTH);

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

  /**
   * The cookie for a ClientHello `body` whose compression_methods end at `paramsEnd`
   * (clientHelloParamsEnd): a shared array, valid until the next call.
   */
  make(now: number, peer: string, body: Uint8Array, paramsEnd: number): Uint8Array {
    this.rotate(now);
    return this.cookie(this.secret, peer, body, paramsEnd, MADE);
  }

  /** Whether the cookie in `body` (framed as clientHelloParamsEnd accepted) is one we made for it and `peer`. */
  verify(now: number, peer: string, body: Uint8Array, paramsEnd: number): boolean {
    this.rotate(now);
    const at = helloCookieAt(body);
    if (body[at] !== COOKIE_LENGTH) return false;
    const c = body.subarray(at + 1, at + 1 + COOKIE_LENGTH);
    if (ctEqual(this.cookie(this.secret, peer, body, paramsEnd, CHECKED), c)) return true;
    return this.previous !== undefined && ctEqual(this.cookie(this.previous, peer, body, paramsEnd, CHECKED), c);
  }

  /**
   * The cookie (the MAC's first 16 bytes, over the peer and the ClientHello's parameters) into
   * `out`: copied, not a view (a view of the small digest would move it off the V8 heap).
   */
  private cookie(secret: MacKey, peer: string, body: Uint8Array, paramsEnd: number, out: Uint8Array): Uint8Array {
    // peer (its char codes: an address is ASCII) ‖ the body before the cookie ‖ after it, up to
    // the extensions, in a scratch buffer reused by every cookie (what goes in is public)
    const at = helloCookieAt(body);
    const after = at + 1 + body[at]!;
    const n = peer.length + at + (paramsEnd - after);
    if (input.length < n) input = new Uint8Array(Math.max(n, 2 * input.length));
    const params = input;
    let o = 0;
    for (let i = 0; i < peer.length; i++) params[o++] = peer.charCodeAt(i);
    for (let i = 0; i < at; i++) params[o++] = body[i]!;
    for (let i = after; i < paramsEnd; i++) params[o++] = body[i]!;
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
