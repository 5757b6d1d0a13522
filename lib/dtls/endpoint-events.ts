import type { DtlsEvent } from './events.js';
import type { ServerConnection } from './handshake/server.js';
import type { SlotRefusal } from './handshake-slots.js';
import type { PeerAddress } from './keystore.js';

/**
 * A key store lookup threw, rejected or did not answer in time (a database outage, say): that
 * handshake ends with an internal_error alert and a `failed` event (KEY_STORE_FAILURE). Unlike
 * an unknown identity, which looks like a wrong key on the wire, this is the server's own
 * trouble, reported with its cause. Carries no key material: the identity is what the client
 * sent in the clear.
 */
export interface KeyStoreErrorEvent {
  type: 'key-store-error';
  peer: PeerAddress;
  connection: ServerConnection;
  /** Which lookup failed. */
  lookup: 'psk' | 'rpk' | 'x509';
  /** The PSK identity looked up (lookup 'psk'). */
  identity?: Uint8Array;
  /** What the lookup threw or rejected with (a DtlsError KEY_STORE_FAILURE for a timeout). */
  cause: unknown;
}

/**
 * A client whose cookie verified could not start a handshake: the server holds `maxSessions`
 * established sessions, or every handshake slot (overall or of its address) waits for our own
 * key store. The client hears nothing and retries.
 */
export interface HandshakeRefusedEvent {
  type: 'handshake-refused';
  peer: PeerAddress;
  reason: 'max-sessions' | SlotRefusal;
}

/**
 * RFC 9146 §6: a record with a session's connection ID, newer than any before and
 * authenticated, came from another address: the session now answers there.
 */
export interface PeerMovedEvent {
  type: 'peer-moved';
  peer: PeerAddress;
  from: PeerAddress;
  connection: ServerConnection;
}

export type EndpointEvent = (DtlsEvent & { peer: PeerAddress; connection: ServerConnection }) | KeyStoreErrorEvent | HandshakeRefusedEvent | PeerMovedEvent;

/**
 * A connection's event with the peer and connection added, built as one literal per type:
 * an object spread per event costs a copy and a map transition on the hot path.
 */
export function endpointEvent(ev: DtlsEvent, e: { readonly peer: PeerAddress; readonly connection: ServerConnection }): EndpointEvent {
  const peer = e.peer;
  const connection = e.connection;
  switch (ev.type) {
    case 'data':
      return { type: 'data', data: ev.data, peer, connection };
    case 'connected':
      return { type: 'connected', session: ev.session, peer, connection };
    case 'closed':
      return { type: 'closed', reason: ev.reason, peer, connection };
    case 'failed':
      return { type: 'failed', error: ev.error, peer, connection };
    default:
      return { ...ev, peer, connection };
  }
}

/** Counters for observability (no secrets): a new set, all zero. */
export function endpointStats() {
  return {
    helloVerifyRequests: 0,
    handshakesStarted: 0,
    handshakesRefused: 0,
    handshakesEvicted: 0,
    datagramsDropped: 0,
    peersMoved: 0,
    amplificationDrops: 0,
    /** Sessions restored from the session store here (taken over from a restart's store or another process). */
    sessionsRestored: 0,
    /** Sessions another process on the session store took over: each ended here silently (a `failed` event, TAKEN_OVER). */
    sessionsTakenOver: 0,
  };
}

/** The endpoint's counters (DtlsEndpoint.stats). */
export type EndpointStats = ReturnType<typeof endpointStats>;
