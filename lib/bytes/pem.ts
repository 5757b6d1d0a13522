/**
 * Base64 (RFC 4648 §4) and PEM (RFC 7468) in plain JavaScript: no Buffer, no atob, no
 * TextDecoder, so the pure build runs on small engines (QuickJS). Malformed input is a
 * {@link DecodeError}.
 */
import { DecodeError } from './reader.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;

/** Standard base64 with `=` padding (RFC 4648 §4); whitespace is ignored, anything else refused. */
export function base64Decode(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 4 !== 0) throw new DecodeError('base64: length is not a multiple of 4');
  const pad = clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((clean.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < clean.length; i += 4) {
    let v = 0;
    for (let j = 0; j < 4; j++) {
      const ch = clean.charCodeAt(i + j);
      const isPad = ch === 0x3d && i + 4 === clean.length && j >= 4 - pad;
      const x = isPad ? 0 : ch < 128 ? B64_VALUE[ch]! : -1;
      if (x < 0) throw new DecodeError('base64: invalid character');
      v = (v << 6) | x;
    }
    out[o++] = v >>> 16;
    if (o < out.length) out[o++] = (v >>> 8) & 0xff;
    if (o < out.length) out[o++] = v & 0xff;
  }
  return out;
}

/** One RFC 7468 block: its label ("CERTIFICATE", "PUBLIC KEY", ...) and the DER it carries. */
export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** Every block in `text` ("-----BEGIN label-----" ... "-----END label-----"), in order; text around them is ignored. */
export function readPem(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const label = m[1]!;
    const body = m[2]!;
    // RFC 1421 encapsulated headers (Proc-Type: 4,ENCRYPTED / DEK-Info) mean an encrypted key.
    if (body.includes(':')) throw new DecodeError(`PEM ${label}: encrypted or header-carrying PEM is not supported`);
    out.push({ label, der: base64Decode(body) });
  }
  return out;
}

/** The first block whose label is one of `labels`. */
export function pemToDer(text: string, labels: readonly string[]): PemBlock {
  for (const b of readPem(text)) if (labels.includes(b.label)) return b;
  throw new DecodeError(`no PEM block labelled ${labels.join(' or ')}`);
}

/** Whether bytes are (PEM) text rather than DER: every DER structure read here is a SEQUENCE (0x30). */
export function looksLikePem(b: Uint8Array): boolean {
  return b.length > 0 && b[0] !== 0x30;
}
