import type { ConnectionConfig } from '../config.js';
import { DtlsConnection } from '../connection.js';
import { DtlsError } from '../errors.js';
import { ClientIdle } from './client-states.js';

/**
 * The smallest DTLS 1.2 client: TLS_PSK_WITH_AES_128_CCM_8 only, full handshakes only, no
 * Connection ID, no session export: what a small device's build needs (lib/entry/psk-coap-client.ts
 * with `resolveBasicConfig`). PskClientConnection is this plus RFC 9146 Connection ID, session
 * resumption and the resumption blob; a configuration asking for those is refused here.
 * Call start() once, then drive it.
 */
export class BasicPskClientConnection extends DtlsConnection {
  constructor(cfg: ConnectionConfig) {
    if (ClientIdle.suites(cfg, undefined).length === 0) throw new DtlsError('INVALID_ARGUMENT', 'a PSK client needs a psk');
    if (cfg.connectionId || cfg.resume || cfg.sessionTickets) throw new DtlsError('INVALID_ARGUMENT', 'connectionId, resume and sessionTickets need PskClientConnection (coaps/dtls)');
    super(cfg, new ClientIdle(undefined, undefined), { restart: (stale) => new ClientIdle(undefined, undefined, stale) });
  }
}
