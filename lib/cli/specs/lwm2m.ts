import { commandSpec } from '../flags.js';
import { SESSION_STORE_FLAG } from '../session-store.js';
import { SERVER_CID_FLAG } from './dtls.js';

/**
 * `coaps lwm2m client --cid [LEN]`: offer an RFC 9146 Connection ID to every coaps:// server.
 * LEN is the length of the CID the client asks the servers to put on the records they send it
 * (0, without LEN: none; the server's own CID, on the client's records, is what survives a NAT
 * rebinding).
 */
export const LWM2M_CLIENT_CID_FLAG = {
  name: 'cid',
  kind: 'optional',
  arg: 'LEN',
  accepts: /^\d+$/,
  implicit: '0',
  description: "RFC 9146 Connection ID: ask each server for one, so the registration survives our address changing (a NAT rebinding); LEN (0..255, 0 without LEN) is our own CID's length",
} as const;

const CONFIG = { name: 'config', kind: 'string', arg: 'FILE', required: true } as const;

export const LWM2M_CLIENT = commandSpec({
  path: ['lwm2m', 'client'],
  summary: 'LwM2M 1.1 client: bootstraps over DTLS with its factory PSK, registers with the server account it received, runs until SIGINT or SIGTERM.',
  flags: [
    { name: 'endpoint', kind: 'string', arg: 'NAME', required: true, description: 'the endpoint client name' },
    { name: 'bootstrap', kind: 'string', arg: 'URI', required: true, description: 'the bootstrap server, coaps://HOST:PORT' },
    { name: 'psk', kind: 'string', arg: 'IDENTITY:HEXKEY', required: true, description: 'the bootstrap PSK: identity (text), then the key in hex (1..64 bytes)' },
    { name: 'state', kind: 'string', arg: 'FILE', description: 'keep the bootstrapped Security and Server objects in this JSON file and start from it next time (default: memory only)' },
    { name: 'queue', kind: 'boolean', description: 'queue mode (LwM2M 1.1 "Q"): stop listening after 93 s (MAX_TRANSMIT_WAIT) without an exchange, wake for the next Update or something to send' },
    LWM2M_CLIENT_CID_FLAG,
    { name: 'tickets', kind: 'boolean', description: 'ask the servers for RFC 5077 session tickets (default: resumption by session ID)' },
    {
      name: 'sessions',
      kind: 'string',
      arg: 'FILE',
      description: 'keep what resumes each DTLS session in this JSON file (mode 0600: it holds master secrets) so a restarted client resumes with an abbreviated handshake (default: none)',
    },
  ],
  notes: ['Each DTLS session is logged on stderr: the server URI, whether it was resumed, whether it has a Connection ID.'],
  examples: [
    'coaps lwm2m client --endpoint ep1 --bootstrap coaps://127.0.0.1:5784 --psk ep1-bs:73656372657450534b --state ep1.json',
    'coaps lwm2m client --endpoint ep1 --bootstrap coaps://127.0.0.1:5784 --psk ep1-bs:73656372657450534b --queue',
    'coaps lwm2m client --endpoint ep1 --bootstrap coaps://127.0.0.1:5784 --psk ep1-bs:73656372657450534b --state ep1.json --cid --sessions ep1-sessions.json',
  ],
});

export const LWM2M_BOOTSTRAP_SERVER = commandSpec({
  path: ['lwm2m', 'bootstrap-server'],
  summary: 'LwM2M bootstrap server (PSK): gives each configured endpoint its LwM2M server accounts; runs until SIGINT or SIGTERM.',
  flags: [{ ...CONFIG, description: 'JSON: listen address, and per endpoint its bootstrap PSK and server accounts (see below)' }],
  notes: [
    'config: {"listen": "HOST:PORT", "endpoints": {"NAME": {"psk": {"identity": "TEXT", "key": "HEX"},',
    '          "servers": [{"shortServerId": N, "uri": "coaps://HOST:PORT", "lifetime": S, "binding": "U", "psk": {"identity": "TEXT", "key": "HEX"}}]}}}',
    '(lifetime defaults to 300 s, binding to "U")',
  ],
  examples: ['coaps lwm2m bootstrap-server --config bs.json'],
});

export const LWM2M_SERVER = commandSpec({
  path: ['lwm2m', 'server'],
  summary: 'LwM2M server (PSK): accepts registrations and reads /3/0 (Device) from each client; runs until SIGINT or SIGTERM.',
  flags: [{ ...CONFIG, description: 'JSON: listen address and the PSKs clients may use (see below)' }, SERVER_CID_FLAG, SESSION_STORE_FLAG],
  notes: [
    'config: {"listen": "HOST:PORT", "psk": [{"identity": "TEXT", "key": "HEX"}]}',
    'With --session-store the DTLS sessions outlive the process (registrations do not: a client whose Update is answered 4.04 registers again).',
  ],
  examples: ['coaps lwm2m server --config server.json', 'coaps lwm2m server --config server.json --cid 4 --session-store redis://127.0.0.1:6379'],
});
