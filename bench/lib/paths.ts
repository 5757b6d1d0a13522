/** Where the benchmarks find the repository from dist/bench/lib/, and what they use in it. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (dist/bench/lib/ -> ../../..). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** Build output and profiles of the benchmarks (git-ignored). */
export const BUILD_DIR = join(REPO_ROOT, 'bench/.build');
/** The GnuTLS priority file that forces libcoap's gnutls build to CCM_8 (test/fixtures/README.md). */
export const GNUTLS_CCM8_ONLY = join(REPO_ROOT, 'test/fixtures/gnutls/ccm8-only.conf');
/** The npm peers of the interop suite (node-dtls-client, node-coap-client), installed by interop/install-peers.sh. */
export const INTEROP_PEERS_DIR = join(REPO_ROOT, 'interop/peers');
