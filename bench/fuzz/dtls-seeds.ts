/**
 * DTLS seeds: every datagram of the fixture transcripts (tinydtls, OpenSSL, GnuTLS, Mbed TLS
 * peers) and of our own handshakes in a fuzz world (PSK, PSK with small records, raw public
 * keys, X.509), split into records, handshake records and whole handshake messages by type.
 */
import { decodeHandshakeFragments } from '../../lib/dtls/wire/handshake.js';
import { ContentType } from '../../lib/dtls/wire/constants.js';
import { splitRecords } from '../../lib/dtls/wire/record.js';
import { CLIENT_KINDS, DtlsWorld } from './dtls-world.js';
import { transcriptDatagrams } from './fixtures.js';

let cache: Uint8Array[] | undefined;

/** Our own handshakes' datagrams (both directions), made once per process. */
function ownDatagrams(): Uint8Array[] {
  const w = new DtlsWorld(0x5eed);
  let port = 41000;
  for (const kind of CLIENT_KINDS) {
    const c = w.addClient(kind, { address: '10.0.0.9', port: port++ });
    w.handshake(c);
    if (c.connected) {
      c.conn.send(w.now, new TextEncoder().encode(`hello from ${kind}`));
      w.pump();
    }
  }
  return w.log.map((x) => x.data);
}

/** Every seed datagram, fixtures first. */
export function seedDatagrams(): Uint8Array[] {
  cache ??= [...transcriptDatagrams().map((d) => d.data), ...ownDatagrams()];
  return cache;
}

/** The plaintext of every epoch-0 handshake record. */
export function handshakeRecords(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const d of seedDatagrams()) {
    try {
      for (const r of splitRecords(d)) if (r.type === ContentType.handshake && r.epoch === 0) out.push(r.fragment);
    } catch {
      /* not a record */
    }
  }
  return out;
}

/** The bodies of the whole (unfragmented) handshake messages of a type, deduplicated. */
export function handshakeBodies(msgType: number): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const rec of handshakeRecords()) {
    let frags;
    try {
      frags = decodeHandshakeFragments(rec);
    } catch {
      continue;
    }
    for (const f of frags) {
      if (f.msgType !== msgType || f.fragmentOffset !== 0 || f.body.length !== f.length) continue;
      const k = Buffer.from(f.body).toString('hex');
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(f.body);
    }
  }
  return out;
}
