import { ctEqual } from '../../bytes/util.js';
import { DtlsError } from '../errors.js';
import { identityBytes, type SessionInfo } from '../events.js';
import type { PeerIdentity } from '../keystore.js';
import { Ccm8CidProtection } from '../record/ccm8-cid.js';
import { Ccm8Protection } from '../record/protection.js';
import { HandshakeType } from '../wire/constants.js';
import { decodeFinished } from '../wire/finished.js';
import { computeVerifyData, deriveKeyBlock, deriveMasterSecret, keyLogLine } from './key-schedule.js';
import type { HandshakeMessage } from './reassembler.js';
import { DONE, expectMessage, type Done, type Handshake, type HandshakeState, type Hellos, type Secrets } from './state.js';
import type { Transcript } from './transcript.js';

export type Role = 'client' | 'server';

/**
 * RFC 5246 §8.1 / RFC 7627 §4 and §6.3: the master secret from the premaster secret, then the
 * key block, installed as the next epoch in both directions of the record layer (active once
 * each ChangeCipherSpec passes). Wipes the premaster secret. The NSS key log line is written
 * only when `log` (an unknown PSK identity goes on with a random key: nothing worth logging).
 */
export function deriveSecrets(
  hs: Handshake,
  role: Role,
  hellos: Hellos,
  transcript: Transcript,
  premaster: Uint8Array,
  sessionHash: Uint8Array | undefined,
  peer: PeerIdentity,
  log = true,
): Secrets {
  const c = hs.cfg.crypto;
  const master = deriveMasterSecret(c, premaster, hellos.clientRandom, hellos.serverRandom, sessionHash);
  premaster.fill(0);
  if (log) hs.cfg.keyLog?.(keyLogLine(hellos.clientRandom, master));
  const kb = deriveKeyBlock(c, master, hellos.clientRandom, hellos.serverRandom);
  const mine = role === 'client' ? kb.client : kb.server;
  const theirs = role === 'client' ? kb.server : kb.client;
  // RFC 9146: records carry the CID their receiver asked for, in the directions that have one
  const cid = hellos.connectionId;
  hs.records.installWrite(cid && cid.write.length > 0 ? new Ccm8CidProtection(c, mine, cid.write, hs.cfg.cidPadding) : new Ccm8Protection(c, mine));
  hs.records.installRead(cid && cid.read.length > 0 ? new Ccm8CidProtection(c, theirs, cid.read) : new Ccm8Protection(c, theirs));
  return { hellos, transcript, master, peer };
}

/** Waits for the peer's ChangeCipherSpec; its epoch-1 records (held until now) become readable. */
export class ExpectChangeCipherSpec implements HandshakeState {
  readonly name = 'ExpectChangeCipherSpec';
  readonly afterLastFlight: { serverRandom: Uint8Array } | undefined;
  constructor(
    private readonly role: Role,
    private readonly secrets: Secrets,
  ) {
    this.afterLastFlight = role === 'client' ? { serverRandom: secrets.hellos.serverRandom } : undefined;
  }

  handle(_hs: Handshake, m: HandshakeMessage): never {
    // RFC 6347 §4.2.6 orders ChangeCipherSpec before Finished; a handshake message here is out of place
    throw new DtlsError('UNEXPECTED_MESSAGE', `handshake message ${m.msgType} before the peer's ChangeCipherSpec`);
  }

  changeCipherSpec(): HandshakeState {
    return new ExpectFinished(this.role, this.secrets);
  }
}

/**
 * Waits for the peer's Finished (epoch 1) and checks its verify_data (RFC 5246 §7.4.9) in
 * constant time. The server then sends its own ChangeCipherSpec and Finished and keeps that
 * last flight; the client's handshake ends here.
 */
export class ExpectFinished implements HandshakeState {
  readonly name = 'ExpectFinished';
  readonly afterLastFlight: { serverRandom: Uint8Array } | undefined;
  constructor(
    private readonly role: Role,
    private readonly secrets: Secrets,
  ) {
    this.afterLastFlight = role === 'client' ? { serverRandom: secrets.hellos.serverRandom } : undefined;
  }

  handle(hs: Handshake, m: HandshakeMessage): Done {
    expectMessage(this, m, HandshakeType.finished, 1);
    const { hellos, transcript, master, peer } = this.secrets;
    const c = hs.cfg.crypto;
    const peerRole = this.role === 'client' ? 'server' : 'client';
    const got = decodeFinished(m.body);
    if (!ctEqual(got, computeVerifyData(c, master, peerRole, transcript.hash()))) {
      throw new DtlsError('DECRYPT_ERROR', `${peerRole} Finished verify_data mismatch`);
    }
    const session: SessionInfo = { cipherSuite: hellos.suite, identity: peer, peerIdentity: identityBytes(peer), extendedMasterSecret: hellos.extendedMasterSecret };
    if (hellos.connectionId) session.connectionId = { read: hellos.connectionId.read, write: hellos.connectionId.write };
    if (this.role === 'client') {
      hs.established(session, false);
      return DONE;
    }
    transcript.add(m.msgType, m.messageSeq, m.body);
    const verify = computeVerifyData(c, master, 'server', transcript.hash());
    hs.sendFlight([{ kind: 'change_cipher_spec', epoch: 0 }, hs.message(HandshakeType.finished, verify, 1)], false);
    // The server sends the last flight: it keeps it to answer a repeated client flight.
    hs.established(session, true);
    return DONE;
  }
}
