import type { PeerIdentity } from './keystore.js';

/**
 * What an established DTLS 1.2 session is, for a session store: enough to continue it in
 * another process (or after a restart) without a handshake, and nothing more. The codec
 * (session-snapshot-codec.ts) writes it compactly (about 128 bytes plus the identity).
 *
 * Never reuse a nonce (AES-CCM: the nonce is the epoch and sequence number): a snapshot holds
 * `writeSequenceLease`, the first sequence number NOT reserved by the writer that saved it. The
 * writer never sends a record at or beyond its lease without first saving a new snapshot with a
 * higher lease; a process that restores a snapshot starts writing at the lease. So a stale
 * snapshot can only make numbers skip, never repeat.
 */
export interface SessionSnapshot {
  /** Format version (the codec refuses others). */
  readonly version: 1;
  readonly role: 'client' | 'server';
  readonly cipherSuite: number;
  readonly extendedMasterSecret: boolean;
  /** 48 bytes: kept for session resumption (RFC 5246 §7.3 abbreviated handshake). */
  readonly masterSecret: Uint8Array;
  /** The current epoch of both directions (1 after the first handshake). */
  readonly epoch: number;
  /** Our write key and IV (16 + 4 bytes for AES-128-CCM_8). */
  readonly writeKey: Uint8Array;
  readonly writeIv: Uint8Array;
  /** The peer's write key and IV: what we read with. */
  readonly readKey: Uint8Array;
  readonly readIv: Uint8Array;
  /** The first write sequence number not reserved by the saver (the nonce lease). */
  readonly writeSequenceLease: number;
  /** The read replay window: the highest sequence number accepted (-1: none yet) and the 64-bit bitmap below it (bit i = top - i). */
  readonly replayTop: number;
  readonly replayBitmap: bigint;
  /** RFC 9146: the CID we receive with (in the peer's records), and the CID we send (the peer's); undefined when not negotiated in that direction. */
  readonly readCid: Uint8Array | undefined;
  readonly writeCid: Uint8Array | undefined;
  /** Largest record plaintext each way (RFC 8449 / RFC 6066), 16384 when none was agreed. */
  readonly sendLimit: number;
  readonly receiveLimit: number;
  /** The authenticated peer. */
  readonly peer: PeerIdentity;
}
