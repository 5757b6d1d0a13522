import type { ServerLimits } from '../coap/limits.js';
import { parseIntArg } from './args.js';

type LimitFlagValues = {
  'max-observers': string;
  'max-observers-per-peer': string;
  'max-pending': string;
  'max-pending-per-peer': string;
  'max-uploads': string;
  'max-uploads-per-peer': string;
  'max-upload-bytes': string;
  'max-body-size': string;
  'max-message-size': string;
  'amplification-factor': string;
};

const BIG = 2 ** 31 - 1;

/** The CoAP server options the cap flags (specs/coap-limits.ts) give; UsageError for a bad value. */
export function coapServerLimits(v: LimitFlagValues): { limits: Partial<ServerLimits>; maxBodySize: number; maxMessageSize: number; amplificationFactor: number } {
  return {
    limits: {
      maxObservers: parseIntArg(v['max-observers'], '--max-observers', 1, BIG),
      maxObserversPerPeer: parseIntArg(v['max-observers-per-peer'], '--max-observers-per-peer', 1, BIG),
      maxPendingRequests: parseIntArg(v['max-pending'], '--max-pending', 1, BIG),
      maxPendingRequestsPerPeer: parseIntArg(v['max-pending-per-peer'], '--max-pending-per-peer', 1, BIG),
      maxUploads: parseIntArg(v['max-uploads'], '--max-uploads', 1, BIG),
      maxUploadsPerPeer: parseIntArg(v['max-uploads-per-peer'], '--max-uploads-per-peer', 1, BIG),
      maxUploadBytes: parseIntArg(v['max-upload-bytes'], '--max-upload-bytes', 1, 2 ** 40),
    },
    maxBodySize: parseIntArg(v['max-body-size'], '--max-body-size', 1, 2 ** 32 - 1),
    // a 16-byte block with a header, a token and Block/Size options needs about 64
    maxMessageSize: parseIntArg(v['max-message-size'], '--max-message-size', 64, 65507),
    amplificationFactor: parseIntArg(v['amplification-factor'], '--amplification-factor', 1, 100),
  };
}
