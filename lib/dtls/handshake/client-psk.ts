import type { ConnectionConfig } from '../config.js';
import { ExportableConnection } from '../exportable-connection.js';
import { DtlsError } from '../errors.js';
import { CLIENT_SESSION_FEATURES } from './client-features.js';
import { ClientIdle } from './client-states.js';

/**
 * A DTLS 1.2 client with TLS_PSK_WITH_AES_128_CCM_8 only. It holds no ECDHE code, so a
 * PSK-only build for a small device leaves all of it out (ClientConnection has both suites).
 * Call start() once, then drive it.
 */
export class PskClientConnection extends ExportableConnection {
  constructor(cfg: ConnectionConfig) {
    if (ClientIdle.suites(cfg, undefined).length === 0) throw new DtlsError('INVALID_ARGUMENT', 'a PSK client needs a psk');
    super(cfg, new ClientIdle(undefined, CLIENT_SESSION_FEATURES), { restart: (stale) => new ClientIdle(undefined, CLIENT_SESSION_FEATURES, stale) });
  }
}
