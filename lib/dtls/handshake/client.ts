import type { ConnectionConfig } from '../config.js';
import { ExportableConnection } from '../exportable-connection.js';
import { DtlsError } from '../errors.js';
import { ECDHE_CLIENT } from './client-ecdhe.js';
import { CLIENT_SESSION_FEATURES } from './client-features.js';
import { ClientIdle } from './client-states.js';

/**
 * The full DTLS 1.2 client: TLS_PSK_WITH_AES_128_CCM_8 and TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8
 * with raw public keys (RFC 7250) or X.509. The server's raw public key or certificate is
 * checked through a `verify-peer` event answered with resolvePeer(), so trust decisions may be
 * asynchronous. Call start() once, then drive it.
 */
export class ClientConnection extends ExportableConnection {
  constructor(cfg: ConnectionConfig) {
    if (ClientIdle.suites(cfg, ECDHE_CLIENT).length === 0) throw new DtlsError('INVALID_ARGUMENT', 'a client needs a psk, or trusted server keys for ECDHE');
    super(cfg, new ClientIdle(ECDHE_CLIENT, CLIENT_SESSION_FEATURES), { restart: (stale) => new ClientIdle(ECDHE_CLIENT, CLIENT_SESSION_FEATURES, stale) });
  }
}
