import { DecodeError } from '../bytes/reader.js';
import { toHex } from '../bytes/util.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { X509Error, type X509ErrorCode } from '../x509/errors.js';
import { verifyChain, type ChainOptions } from '../x509/verify.js';
import { DtlsError, type DtlsErrorCode } from './errors.js';
import type { KeyStore, MaybePromise, PeerAddress, PeerIdentity } from './keystore.js';

/** What the peer presented in its Certificate message. */
export type PeerCredential = { kind: 'rpk'; spki: Uint8Array } | { kind: 'x509'; chain: Uint8Array[] };

/** The verdict on a peer credential: its identity and the SPKI to verify its signatures with. */
export type PeerVerdict = { ok: true; identity: PeerIdentity; spki: Uint8Array } | { ok: false; error: DtlsError };

export interface VerifyContext {
  crypto: CryptoProvider;
  /** serverAuth when we are the client, clientAuth when we are the server. */
  purpose: ChainOptions['purpose'];
  /** Client side, X.509: the name the server certificate must carry. */
  expectedName?: string;
}

const fingerprint = (c: CryptoProvider, b: Uint8Array) => toHex(c.sha256(b));

/**
 * X.509 refusals as DTLS errors, each the alert it names (RFC 5246 §7.2.2): bad_certificate,
 * unsupported_certificate, certificate_expired, certificate_unknown, unknown_ca.
 */
const DTLS_CODE: Record<X509ErrorCode, DtlsErrorCode> = {
  BAD_CERTIFICATE: 'BAD_CERTIFICATE',
  UNSUPPORTED_CERTIFICATE: 'UNSUPPORTED_CERTIFICATE',
  CERTIFICATE_EXPIRED: 'CERTIFICATE_EXPIRED',
  CERTIFICATE_UNKNOWN: 'CERTIFICATE_UNKNOWN',
  UNKNOWN_CA: 'UNKNOWN_CA',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
};

/**
 * Decides whether to trust a peer's raw public key or certificate chain, through the key
 * store. May be asynchronous (the store's callbacks are). Never throws: failures are verdicts.
 */
export function verifyPeer(store: KeyStore, cred: PeerCredential, peer: PeerAddress, ctx: VerifyContext): MaybePromise<PeerVerdict> {
  try {
    if (cred.kind === 'rpk') {
      const check = store.rawPublicKey;
      if (!check) return refuse('UNSUPPORTED_CERTIFICATE', 'raw public keys are not accepted');
      const spki = cred.spki;
      const decide = (r: string | boolean | undefined): PeerVerdict =>
        r
          ? { ok: true, spki, identity: { kind: 'rpk', spki, fingerprint: fingerprint(ctx.crypto, spki), name: typeof r === 'string' ? r : undefined } }
          : { ok: false, error: new DtlsError('CERTIFICATE_UNKNOWN', 'the peer\'s raw public key is not trusted') };
      return then(check(spki, peer), decide);
    }
    const x = store.x509;
    if (!x) return refuse('UNSUPPORTED_CERTIFICATE', 'X.509 certificates are not accepted');
    const opts: ChainOptions = { crypto: ctx.crypto, anchors: x.anchors, purpose: ctx.purpose };
    if (ctx.expectedName !== undefined) opts.expectedName = ctx.expectedName;
    if (x.clock !== undefined) opts.clock = x.clock;
    const v = verifyChain(cred.chain, opts);
    const decide = (r: string | boolean | undefined): PeerVerdict =>
      r
        ? { ok: true, spki: v.spki, identity: { kind: 'x509', subject: v.subject, fingerprint: fingerprint(ctx.crypto, cred.chain[0]!), name: typeof r === 'string' ? r : undefined } }
        : { ok: false, error: new DtlsError('CERTIFICATE_UNKNOWN', 'the peer certificate is not authorized') };
    return then(x.authorize ? x.authorize(v, peer) : true, decide);
  } catch (e) {
    if (e instanceof X509Error) return { ok: false, error: new DtlsError(DTLS_CODE[e.code], e.message) };
    if (e instanceof DtlsError) return { ok: false, error: e };
    // A malformed certificate is bad_certificate; a key store callback that throws is the
    // server's own failure, not a verdict on the peer (KEY_STORE_FAILURE, internal_error).
    if (e instanceof DecodeError) return { ok: false, error: new DtlsError('BAD_CERTIFICATE', e.message) };
    return storeFailed(e);
  }
}

/** A key store callback threw or rejected. */
function storeFailed(cause: unknown): PeerVerdict {
  return { ok: false, error: new DtlsError('KEY_STORE_FAILURE', `the key store failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause }) };
}

function refuse(code: 'UNSUPPORTED_CERTIFICATE', msg: string): PeerVerdict {
  return { ok: false, error: new DtlsError(code, msg) };
}

function then<T>(v: MaybePromise<T>, f: (t: T) => PeerVerdict): MaybePromise<PeerVerdict> {
  if (v instanceof Promise) {
    return v.then(f, storeFailed);
  }
  return f(v);
}
