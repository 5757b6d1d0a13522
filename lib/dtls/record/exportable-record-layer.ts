import { DtlsError } from '../errors.js';
import type { CompactRecords } from '../hibernation.js';
import type { EpochProtection } from './protection.js';
import { RecordLayer } from './record-layer.js';
import { ReplayWindow } from './replay-window.js';

/** A record layer's established state as a session store keeps it (session-export.ts). */
export interface RecordLayerState {
  epoch: number;
  write: EpochProtection;
  read: EpochProtection;
  nextWrite: number;
  window: { top: number; bitmap: bigint };
}

/**
 * The record layer of a connection whose session can be exported (ExportableConnection): a
 * session store's snapshot of it, and a record layer continuing one. A small build's
 * connection (BasicPskClientConnection) has the plain RecordLayer.
 */
export class ExportableRecordLayer extends RecordLayer {
  /**
   * The established state, for a session store: the current epoch's keys each way, the next
   * write sequence number, the read window and the CIDs. Holds secrets.
   */
  exportState(): RecordLayerState {
    const write = this.writers[this.writeEpochNow];
    if (this.writeEpochNow === 0 || this.readEpochNow !== this.writeEpochNow || !write) throw new DtlsError('INTERNAL', 'no established epoch to export');
    return { epoch: this.writeEpochNow, write, read: this.reader, nextWrite: this.writeSeq[this.writeEpochNow]!, window: this.window.export() };
  }

  /** A record layer as exported (a restored session): writing at `nextWrite`, reading with `window`. */
  static restore(maxEarlyRecords: number, s: RecordLayerState & { readCidLength: number }): ExportableRecordLayer {
    const r = new ExportableRecordLayer(maxEarlyRecords);
    r.writeEpochNow = s.epoch;
    r.writers[s.epoch] = s.write;
    r.writeSeq[s.epoch] = s.nextWrite;
    r.readEpochNow = s.epoch;
    r.reader = s.read;
    r.window = ReplayWindow.from(s.window.top, s.window.bitmap);
    r.readCidLength = s.readCidLength;
    r.holdingEarly = false;
    return r;
  }

  /**
   * The established state as plain values, for a hibernated connection (lib/dtls/hibernation.ts):
   * one epoch both ways with AES-128-CCM_8 keys, nothing of a next epoch installed, nothing held.
   * Undefined otherwise (the connection then stays awake). Holds the traffic keys.
   */
  compact(): CompactRecords | undefined {
    const epoch = this.writeEpochNow;
    const write = this.writers[epoch];
    const read = this.reader;
    if (epoch === 0 || this.readEpochNow !== epoch || this.writers.length !== epoch + 1 || this.pendingReader || this.early || this.holdingEarly) return undefined;
    if (!write?.keys || !read.keys) return undefined;
    const w = this.window;
    return {
      epoch,
      writeKeys: write.keys,
      readKeys: read.keys,
      writeCid: (write.cid?.length ?? 0) > 0,
      readCid: (read.cid?.length ?? 0) > 0,
      nextWrite: this.writeSeq[epoch]!,
      nextWrite0: this.writeSeq[0] ?? 0,
      replayTop: w.highest,
      replayLow: w.lowBits,
      replayHigh: w.highBits,
      readCidLength: this.readCidLength,
      sendLimit: this.sendLimit,
      receiveLimit: this.receiveLimit,
    };
  }

  /** Takes the state compact() described, with its epoch's protection each way (a fresh record layer waking up). */
  restoreCompact(c: CompactRecords, write: EpochProtection, read: EpochProtection): void {
    this.writeEpochNow = c.epoch;
    for (let e = 1; e < c.epoch; e++) this.writers[e] = undefined;
    this.writers[c.epoch] = write;
    this.writeSeq[0] = c.nextWrite0;
    this.writeSeq[c.epoch] = c.nextWrite;
    this.readEpochNow = c.epoch;
    this.reader = read;
    this.window = ReplayWindow.fromWords(c.replayTop, c.replayLow, c.replayHigh);
    this.readCidLength = c.readCidLength;
    this.sendLimit = c.sendLimit;
    this.receiveLimit = c.receiveLimit;
    this.holdingEarly = false;
  }
}
