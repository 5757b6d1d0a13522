/**
 * The tinydtls transcripts (test/fixtures/tinydtls/, described in interop/PEERS.md): byte-exact
 * datagrams of real tinydtls 0.8.6 sessions with tinydtls, OpenSSL and GnuTLS peers, with every
 * secret needed to check them. One file per session, named `<prefix>_<what>.json` (A, B, C, D,
 * E2, E3, F, G).
 */
import { listFixtures, readFixtureJson } from './fixtures.js';

const DIR = 'tinydtls/';

export type Dir = 'c2s' | 's2c';

/** One datagram as the relay saw it, with the records an independent dissector found in it. */
export interface Datagram {
  dir: Dir;
  t_ms: number;
  hex: string;
  /** The relay dropped it: the peer never saw it. */
  dropped?: boolean;
  records: Array<{ type: string; epoch: number; seq: number; length: number }>;
}

/** The secp256r1 test key pairs of the tinydtls examples (tests/dtls-server.c, tests/dtls-client.c). */
export interface EcdsaKeys {
  curve: string;
  server_priv_hex: string;
  server_pub_x_hex: string;
  server_pub_y_hex: string;
  client_priv_hex: string;
  client_pub_x_hex: string;
  client_pub_y_hex: string;
}

interface Transcript {
  description: string;
  cipher_suite_id: string;
  client_random_hex: string;
  master_secret_hex: string;
  /** NSS key log lines written by a key-logging build of tinydtls. */
  keylog: Array<{ client_random_hex: string; master_secret_hex: string; role?: string; server_random?: string; ems?: string }>;
  /** An echoing server's message is marked `<message> (echo)`. */
  app_data_expected: { c2s: string; s2c: string };
  datagrams: Datagram[];
}
/** A TLS_PSK_WITH_AES_128_CCM_8 session (A, C, D, E2, E3, G). */
export interface PskTranscript extends Transcript {
  psk_identity: string;
  psk_hex: string;
}
/** A TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 session with raw public keys (B, F). */
export interface EcdheTranscript extends Transcript {
  ecdsa_keys: EcdsaKeys;
}

/** The file names of every transcript. */
export function transcriptFiles(): string[] {
  return listFixtures(DIR).filter((f) => f.endsWith('.json'));
}

/** The transcript whose file name starts with `<prefix>_`, and that name. */
export function loadTranscript<T extends Transcript = PskTranscript | EcdheTranscript>(prefix: string): { file: string; t: T } {
  const file = transcriptFiles().find((f) => f.startsWith(`${prefix}_`));
  if (!file) throw new Error(`no transcript ${prefix}_*.json in test/fixtures/${DIR}`);
  return { file, t: readFixtureJson<T>(DIR + file) };
}

/** The datagrams of a transcript, dropped ones included. */
export function transcriptDatagrams(prefix: string): Datagram[] {
  return loadTranscript(prefix).t.datagrams;
}

/** The tinydtls example key pairs, as transcript B carries them. */
export function tinydtlsKeys(): EcdsaKeys {
  return loadTranscript<EcdheTranscript>('B').t.ecdsa_keys;
}
