/**
 * `close({ keepSessions: true })` on the Node servers (DtlsServer, CoapServer): the socket
 * closes but no session ends, so a shared session store keeps them for the next process (what
 * `coaps dtls server|serve|lwm2m server --session-store redis://` do on SIGTERM). A plain
 * `close()` ends them: close_notify, and they are deleted from the store.
 */
import { describe, expect, it } from 'vitest';
import { memorySessionStore } from '../lib/dtls/memory-session-store.js';
import { pskMap } from '../lib/dtls/keystore.js';
import { createServer as createCoapServer } from '../lib/entry/coap.js';
import { connect, createServer, type DtlsError } from '../lib/entry/dtls.js';

const IDENTITY = new TextEncoder().encode('Client_identity');
const KEY = Buffer.from('73656372657450534b', 'hex');

/** A server on a memory store, one client connected with a CID: the store's size once saved, then after close(o). */
async function sizesAround(kind: 'dtls' | 'coap', o: { keepSessions?: boolean } | undefined) {
  const store = memorySessionStore({ clock: () => 0 });
  const dtls = { psk: pskMap([[IDENTITY, KEY]]), connectionId: 4, sessionStore: store };
  const server = kind === 'dtls' ? createServer(dtls) : createCoapServer({ dtls }, (_q, r) => r.end('hi'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  const session = await connect({ host: '127.0.0.1', port, psk: { identity: IDENTITY, key: KEY }, connectionId: true, timeoutMs: 5000 });
  const closes: Array<DtlsError | undefined> = [];
  session.on('close', (e?: DtlsError) => closes.push(e));
  for (let i = 0; i < 200 && store.size < 2; i++) await new Promise((r) => setTimeout(r, 5));
  const saved = store.size; // under its CID and its address
  await server.close(o);
  await new Promise((r) => setTimeout(r, 100));
  const after = store.size;
  const closedByServer = session.closed;
  await session.close();
  return { saved, after, closedByServer, closes };
}

describe('close({ keepSessions })', () => {
  for (const kind of ['dtls', 'coap'] as const) {
    it(`${kind}: keepSessions leaves the sessions in the store and says nothing to the client`, async () => {
      const r = await sizesAround(kind, { keepSessions: true });
      expect(r.saved).toBe(2);
      expect(r.after).toBe(2);
      expect(r.closedByServer).toBe(false);
    });
    it(`${kind}: a plain close ends them (close_notify) and deletes them from the store`, async () => {
      const r = await sizesAround(kind, undefined);
      expect(r.saved).toBe(2);
      expect(r.after).toBe(0);
      expect(r.closedByServer).toBe(true);
    });
  }
});
