import type { EndpointCore, Entry } from './endpoint-sessions.js';
import type { PeerAddress } from './keystore.js';

/** What an address not yet verified may be sent, per byte it sent us (QUIC's factor, RFC 9000 §8.1). */
const AMPLIFICATION_FACTOR = 3;

/**
 * RFC 9146 §6: an authenticated record newer than any before, with this session's CID, came
 * from `to`: the session answers there from now on. Until `to` has sent a second such record,
 * we send it at most three times the bytes it sent us (QUIC's anti-amplification factor, RFC
 * 9000 §8.1): an attacker who races a captured record from a spoofed address can redirect a
 * session until the peer's next record, but not turn it into an amplifier; the excess is
 * dropped (DTLS and CoAP retransmit). Without a CID, a new address is a new peer: a session
 * is never moved by address alone.
 */
export function movePeer(core: EndpointCore, e: Entry, to: PeerAddress, bytesIn: number): void {
  const from = e.peer;
  core.sessions.readdress(e, to);
  e.unverified = { bytesIn, bytesOut: 0, records: 1 };
  core.stats.peersMoved++;
  core.persistence?.moved(e.connection, from, to);
  core.events.push({ type: 'peer-moved', peer: to, from, connection: e.connection });
}

/** A session found by CID from wherever (restored from the store): bounded like a moved peer until a second fresh record. */
export function startUnverified(e: Entry): void {
  e.unverified = { bytesIn: 0, bytesOut: 0, records: 0 };
}

/** An authenticated record newer than any before came from the session's own address: the second one verifies it. */
export function freshRecord(e: Entry, bytes: number): void {
  if (e.unverified && ++e.unverified.records >= 2) e.unverified = undefined;
  else if (e.unverified) e.unverified.bytesIn += bytes;
}

/** Whether a datagram of `bytes` may go to the session's address, within the bound of one not yet verified (counted if so). */
export function withinBound(e: Entry, bytes: number): boolean {
  const u = e.unverified;
  if (u) {
    if (u.bytesOut + bytes > AMPLIFICATION_FACTOR * u.bytesIn) return false;
    u.bytesOut += bytes;
  }
  return true;
}
