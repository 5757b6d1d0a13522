import type { ConnectionConfig } from './config.js';
import { identityBytes, type SessionInfo } from './events.js';
import { Ccm8CidProtection } from './record/ccm8-cid.js';
import { Ccm8Protection } from './record/protection.js';
import { ExportableRecordLayer } from './record/exportable-record-layer.js';
import type { SessionSnapshot } from './session-snapshot.js';

/**
 * An established session as a session store keeps it (lib/dtls/session-snapshot.ts), with
 * `writeSequenceLease` the first write sequence number not reserved. Holds secrets (keys, master
 * secret). Undefined when the record layer has no keys (not established).
 */
export function exportSession(records: ExportableRecordLayer, session: SessionInfo, master: Uint8Array, role: 'client' | 'server', writeSequenceLease: number): SessionSnapshot | undefined {
  const s = records.exportState();
  const { write, read } = s;
  if (!write.keys || !read.keys) return undefined;
  const cid = session.connectionId;
  return {
    version: 1,
    role,
    cipherSuite: session.cipherSuite,
    extendedMasterSecret: session.extendedMasterSecret,
    masterSecret: master,
    epoch: s.epoch,
    writeKey: write.keys.key,
    writeIv: write.keys.iv,
    readKey: read.keys.key,
    readIv: read.keys.iv,
    writeSequenceLease: Math.max(writeSequenceLease, s.nextWrite),
    replayTop: s.window.top,
    replayBitmap: s.window.bitmap,
    readCid: cid && cid.read.length > 0 ? cid.read : undefined,
    writeCid: cid && cid.write.length > 0 ? cid.write : undefined,
    sendLimit: records.sendLimit,
    receiveLimit: records.receiveLimit,
    peer: session.identity,
  };
}

/** A record layer continuing a snapshot: its epoch, keys (copied), replay window, CIDs and limits, writing at the lease. */
export function restoreRecordLayer(cfg: ConnectionConfig, snap: SessionSnapshot): ExportableRecordLayer {
  const c = cfg.crypto;
  const protection = (keys: { key: Uint8Array; iv: Uint8Array }, cid: Uint8Array | undefined, padding = 0) =>
    cid && cid.length > 0 ? new Ccm8CidProtection(c, keys, cid, padding) : new Ccm8Protection(c, keys);
  const records = ExportableRecordLayer.restore(cfg.maxEarlyRecords, {
    epoch: snap.epoch,
    write: protection({ key: snap.writeKey.slice(), iv: snap.writeIv.slice() }, snap.writeCid, cfg.cidPadding),
    read: protection({ key: snap.readKey.slice(), iv: snap.readIv.slice() }, snap.readCid),
    nextWrite: snap.writeSequenceLease,
    window: { top: snap.replayTop, bitmap: snap.replayBitmap },
    readCidLength: snap.readCid?.length ?? 0,
  });
  records.sendLimit = snap.sendLimit;
  records.receiveLimit = snap.receiveLimit;
  return records;
}

/** The SessionInfo of a restored session (`restored: true`, never `resumed`). */
export function restoredSessionInfo(snap: SessionSnapshot): SessionInfo {
  const session: SessionInfo = { cipherSuite: snap.cipherSuite, identity: snap.peer, peerIdentity: identityBytes(snap.peer), extendedMasterSecret: snap.extendedMasterSecret, resumed: false, restored: true };
  if (snap.readCid || snap.writeCid) session.connectionId = { read: snap.readCid ?? new Uint8Array(0), write: snap.writeCid ?? new Uint8Array(0) };
  return session;
}
