import { DEFAULT_SERVER_LIMITS as L } from '../../coap/limits.js';
import type { Flag } from '../flags.js';

/** The CoAP server's caps (lib/coap/limits.ts), as flags of `coaps serve`. */
export const COAP_LIMIT_FLAGS = [
  { name: 'max-observers', kind: 'string', arg: 'N', default: String(L.maxObservers), description: 'observations (RFC 7641) in all; beyond: 5.03 with Max-Age' },
  { name: 'max-observers-per-peer', kind: 'string', arg: 'N', default: String(L.maxObserversPerPeer), description: 'observations of one peer (a DTLS session, a UDP address)' },
  { name: 'max-pending', kind: 'string', arg: 'N', default: String(L.maxPendingRequests), description: 'requests waiting for their handler, in all; beyond: 5.03 with Max-Age' },
  { name: 'max-pending-per-peer', kind: 'string', arg: 'N', default: String(L.maxPendingRequestsPerPeer), description: 'requests waiting for their handler, from one peer' },
  { name: 'max-uploads', kind: 'string', arg: 'N', default: String(L.maxUploads), description: 'block-wise uploads (Block1) in progress, in all; beyond: 5.03 with Max-Age' },
  { name: 'max-uploads-per-peer', kind: 'string', arg: 'N', default: String(L.maxUploadsPerPeer), description: 'block-wise uploads in progress from one peer' },
  { name: 'max-upload-bytes', kind: 'string', arg: 'BYTES', default: String(L.maxUploadBytes), description: 'bytes buffered by all uploads in progress' },
  { name: 'max-body-size', kind: 'string', arg: 'BYTES', default: String(1024 * 1024), description: 'largest request body; beyond: 4.13 with Size1' },
  { name: 'max-message-size', kind: 'string', arg: 'BYTES', default: '1152', description: 'coap://: largest message sent (RFC 7252 §4.6); coaps:// follows each session' },
  { name: 'amplification-factor', kind: 'string', arg: 'N', default: '3', description: 'coap://: answers to an address not verified with Echo (RFC 9175) are at most N times the request' },
] as const satisfies readonly Flag[];
