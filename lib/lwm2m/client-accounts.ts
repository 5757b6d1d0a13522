import type { Link } from '../coap/link-format.js';
import { coapUriAuthority } from '../coap/uri.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { Lwm2mError } from './errors.js';
import type { ObjectStore } from './object-store.js';
import { checkSecurity, securityOf, securityResources, type SecurityConfig } from './security.js';
import type { Value } from './types.js';

/** The factory bootstrap account a client starts with when nothing was bootstrapped yet. */
export interface FactoryBootstrap {
  uri: string;
  security: SecurityConfig;
  /** Client Hold Off Time (/0/x/11): wait this long before the first Bootstrap-Request. */
  holdOffS?: number;
}

/** The bootstrap server account of the Security object (/0/x with /0/x/1 true). */
export interface BootstrapAccount {
  instanceId: number;
  uri: string;
  security: SecurityConfig;
}

/** A complete LwM2M server account: /0/x (not bootstrap, URI, ssid) + /1/y with that ssid. */
export interface ServerAccountInfo {
  uri: string;
  security: SecurityConfig;
  shortServerId: number;
  lifetimeS: number;
  binding: string;
}

/** Writes the factory bootstrap account as /0/0 (checked first: Lwm2mError 4.06 if unusable). */
export function installFactoryBootstrap(store: ObjectStore, b: FactoryBootstrap, crypto?: CryptoProvider): void {
  checkSecurity(b.security, b.uri, crypto);
  const values: Array<[number, Value]> = [[0, b.uri], [1, true], ...securityResources(b.security), [11, b.holdOffS ?? 0], [12, 0]];
  store.write([0, 0], values.map(([r, value]) => ({ path: [0, 0, r], value })), 'replace', { ignoreAccess: true, create: true });
}

export function bootstrapAccount(store: ObjectStore): BootstrapAccount | undefined {
  for (const i of store.instanceIds(0)) {
    if (store.get([0, i, 1]) !== true) continue;
    const uri = store.get([0, i, 0]);
    if (typeof uri === 'string') return { instanceId: i, uri, security: securityOf(store, i) };
  }
  return undefined;
}

/** The first complete server account, if any. */
export function serverAccount(store: ObjectStore): ServerAccountInfo | undefined {
  for (const i of store.instanceIds(0)) {
    if (store.get([0, i, 1]) === true) continue;
    const uri = store.get([0, i, 0]);
    const ssid = store.get([0, i, 10]);
    if (typeof uri !== 'string' || typeof ssid !== 'number') continue;
    for (const j of store.instanceIds(1)) {
      if (store.get([1, j, 0]) !== ssid) continue;
      const lifetime = store.get([1, j, 1]);
      const binding = store.get([1, j, 7]);
      try {
        return { uri, security: securityOf(store, i), shortServerId: ssid, lifetimeS: typeof lifetime === 'number' && lifetime > 0 ? lifetime : 86400, binding: typeof binding === 'string' ? binding : 'U' };
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Bootstrap-Finish consistency check (what Leshan's client checks): else Lwm2mError 4.06. */
export function validateConfiguration(store: ObjectStore, crypto?: CryptoProvider): void {
  const account = serverAccount(store);
  if (!account) throw Lwm2mError.notAcceptable('no usable LwM2M server account (Security + Server instance with the same Short Server ID)');
  checkSecurity(account.security, account.uri, crypto);
  if (store.instanceIds(0).filter((i) => store.get([0, i, 1]) === true).length > 1) throw Lwm2mError.notAcceptable('more than one bootstrap account');
}

/** The Register links: every object and instance but Security (0) and OSCORE (21). */
export function registrationLinks(store: ObjectStore, preferredContentFormat: number): Link[] {
  const links: Link[] = [{ target: '/', attributes: [['rt', 'oma.lwm2m'], ['ct', String(preferredContentFormat)]] }];
  for (const o of store.objectIds()) {
    if (o === 0 || o === 21) continue;
    const ids = store.instanceIds(o);
    if (ids.length === 0) links.push({ target: `/${o}`, attributes: [] });
    for (const i of ids) links.push({ target: `/${o}/${i}`, attributes: [] });
  }
  return links;
}

/**
 * The credentials for another server the client talks to (a firmware package server): those
 * of the Security instance whose URI has the same scheme, host and port, else, for coaps://,
 * those of the LwM2M server account; coap:// needs none.
 */
export function securityForUri(store: ObjectStore, uri: string): SecurityConfig {
  const a = coapUriAuthority(uri);
  if (!a?.secure) return { mode: 'nosec' };
  for (const i of store.instanceIds(0)) {
    if (store.get([0, i, 1]) === true) continue;
    const u = store.get([0, i, 0]);
    const b = typeof u === 'string' ? coapUriAuthority(u) : undefined;
    if (!b || b.secure !== a.secure || b.host !== a.host || b.port !== a.port) continue;
    try {
      return securityOf(store, i);
    } catch {
      break;
    }
  }
  return serverAccount(store)?.security ?? { mode: 'nosec' };
}
