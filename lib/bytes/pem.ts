/**
 * PEM (RFC 7468) in plain JavaScript: no Buffer, no atob, no TextDecoder, so the pure build
 * runs on small engines (QuickJS). The base64 is lib/bytes/base64.ts. Malformed input is a
 * {@link DecodeError}.
 */
import { base64Decode } from './base64.js';
import { DecodeError } from './reader.js';

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
    out.push({ label, der: base64Decode(body, { ignoreWhitespace: true }) });
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
