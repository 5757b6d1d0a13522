import { DtlsError } from '../errors.js';
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
}
