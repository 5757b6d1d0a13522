import type { CryptoProvider } from '../../crypto/provider.js';
import { wipe } from '../../bytes/util.js';
import { DTLS_1_2 } from '../wire/constants.js';
import { RECORD_HEADER_LENGTH, TLS12_CID, writeHeader, type RawRecord } from '../wire/record.js';
import { CCM8_RECORD_OVERHEAD, openRecord, sealRecordWith, type TrafficKeys } from './ccm8-cipher.js';
import { wireBuffer } from '../../bytes/wire-chunks.js';

/**
 * How the records of one epoch are framed and protected, in one direction. The record layer
 * keeps one per epoch, so an epoch can change the record format as well as the keys: this is
 * where RFC 9146 `tls12_cid` records (content type 25, a connection ID in the header, the
 * real type inside DTLSInnerPlaintext) plug in, as another implementation.
 */
export interface EpochProtection {
  /** Bytes a record of this epoch adds to its plaintext, header included. */
  readonly overhead: number;
  /** The traffic keys of an epoch that has them (for a session store's snapshot: secret). */
  readonly keys?: TrafficKeys;
  /** RFC 9146: the CID its records carry. */
  readonly cid?: Uint8Array;
  /** Whether a record has this epoch's format (a tls12_cid record with our CID, or a plain one). */
  accepts(r: RawRecord): boolean;
  /** The whole record: header (with this epoch and sequence number) and protected fragment. */
  seal(type: number, epoch: number, sequence: number, plaintext: Uint8Array): Uint8Array;
  /** The plaintext of a record of this epoch, or undefined when it fails authentication. */
  open(r: RawRecord): Uint8Array | undefined;
  /** Forgets the keys. */
  wipe(): void;
}

/**
 * Epoch 0 (RFC 6347 §4.1): `DTLSPlaintext` with the null cipher, as the handshake starts.
 * Unauthenticated: its records are the handshake's to judge.
 */
export const NULL_PROTECTION: EpochProtection = {
  overhead: RECORD_HEADER_LENGTH,
  seal(type, epoch, sequence, plaintext) {
    const out = wireBuffer(RECORD_HEADER_LENGTH + plaintext.length);
    writeHeader(out, 0, type, DTLS_1_2, epoch, sequence, plaintext.length);
    out.set(plaintext, RECORD_HEADER_LENGTH);
    return out;
  },
  accepts: (r) => r.type !== TLS12_CID,
  open: (r) => r.fragment,
  wipe: () => undefined,
};

/** AES-128-CCM_8 records (RFC 6655, RFC 7251) with one direction's traffic keys. */
export class Ccm8Protection implements EpochProtection {
  readonly overhead = RECORD_HEADER_LENGTH + CCM8_RECORD_OVERHEAD;
  constructor(
    private readonly crypto: CryptoProvider,
    /** The traffic keys (for a session store's snapshot: secret). */
    readonly keys: TrafficKeys,
  ) {}

  accepts(r: RawRecord): boolean {
    return r.type !== TLS12_CID;
  }

  seal(type: number, epoch: number, sequence: number, plaintext: Uint8Array): Uint8Array {
    return sealRecordWith(this.crypto, this.keys, type, DTLS_1_2, epoch, sequence, plaintext);
  }

  open(r: RawRecord): Uint8Array | undefined {
    try {
      return openRecord(this.crypto, this.keys, r, r.fragment);
    } catch {
      return undefined; // a provider error on hostile input is a failed record, nothing more
    }
  }

  wipe(): void {
    wipe(this.keys.key);
    wipe(this.keys.iv);
  }
}
