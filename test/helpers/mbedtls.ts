/**
 * The Mbed TLS 3.6 transcripts (test/fixtures/mbedtls/, described in test/fixtures/README.md):
 * byte-exact datagrams between Mbed TLS's `ssl_client2` and `ssl_server2` through a recording
 * relay, with the NSS key log of both programs. One file per scenario, named `<prefix>_<what>.json`
 * (H4, H5, ...). A file may hold several connections (a client that reconnects from a new port
 * to resume): `connections()` splits them by the client's port. The datagrams have the shape of
 * the tinydtls ones (helpers/tinydtls.ts), so the passive observer (helpers/transcript-observer.ts)
 * reads both.
 */
import { listFixtures, readFixtureJson } from './fixtures.js';
import type { Datagram } from './tinydtls.js';

const DIR = 'mbedtls/';

/** A datagram as the relay saw it; the ports say which connection it belongs to. */
export interface MbedtlsDatagram extends Datagram {
  len: number;
  /** The port of ssl_client2's socket: one per connection (a reconnecting client gets a new one). */
  client_port: number;
  /** The relay's port towards the server (the source address the server sees). */
  upstream_port: number;
}

/** One NSS key log line, per handshake (a resumed handshake logs its own client random with the old master secret). */
export interface MbedtlsKeyLogLine {
  client_random_hex: string;
  master_secret_hex: string;
  handshake_index: number;
}

export interface MbedtlsTranscript {
  description: string;
  mbedtls_version: string;
  cipher_suite_id: string;
  psk_identity: string;
  psk_hex: string;
  commands: { server: string; client: string; relay?: string };
  cid: { negotiated: boolean; note?: string };
  keylog: MbedtlsKeyLogLine[];
  /** Per direction, the application data in send order (one entry per connection for H4/H5). */
  app_data_expected: { c2s: string[]; s2c: string[] };
  datagrams: MbedtlsDatagram[];
  verification: { ok: boolean; tls12_cid_records: number; handshakes: Array<{ connection: number; kind: 'full' | 'abbreviated'; client_random_hex: string; server_random_hex: string }> };
}

/** The transcript whose file name starts with `<prefix>_`, and that name. */
export function loadMbedtlsTranscript(prefix: string): { file: string; t: MbedtlsTranscript } {
  const file = listFixtures(DIR).find((f) => f.startsWith(`${prefix}_`) && f.endsWith('.json'));
  if (!file) throw new Error(`no transcript ${prefix}_*.json in test/fixtures/${DIR}`);
  return { file, t: readFixtureJson<MbedtlsTranscript>(DIR + file) };
}

/**
 * The connections of a transcript in the order they began, each with its datagrams in capture
 * order. Late datagrams of an earlier connection (the server's close_notify after the client's
 * next ClientHello) stay with their own connection.
 */
export function connections(t: MbedtlsTranscript): Array<{ clientPort: number; datagrams: MbedtlsDatagram[] }> {
  const out: Array<{ clientPort: number; datagrams: MbedtlsDatagram[] }> = [];
  for (const d of t.datagrams) {
    let c = out.find((x) => x.clientPort === d.client_port);
    if (!c) out.push((c = { clientPort: d.client_port, datagrams: [] }));
    c.datagrams.push(d);
  }
  return out;
}
