import { DEFAULT_MTU } from '../../dtls/config.js';
import { CLIENT_AUTH_FLAG, CREDENTIAL_FLAGS } from '../credentials.js';
import { commandSpec } from '../flags.js';
import { SERVER_LIMIT_FLAGS } from '../server-limits.js';
import { SESSION_STORE_FLAG } from '../session-store.js';

const PSK = 'Client_identity:73656372657450534b';

const MTU = { name: 'mtu', kind: 'string', arg: 'N', default: String(DEFAULT_MTU), description: 'largest datagram to send, in bytes (64..65507)' } as const;
/** Servers: RFC 9146 Connection ID (`coaps dtls server`, `coaps serve`). */
export const SERVER_CID_FLAG = {
  name: 'cid',
  kind: 'optional',
  arg: 'LEN',
  accepts: /^\d+$/,
  implicit: '4',
  description: 'RFC 9146 Connection ID: give clients that offer one a random CID of LEN bytes (1..255, 4 without LEN; off without the flag) and follow them to a new address',
} as const;
/** Clients: offer an RFC 9146 Connection ID (`coaps dtls client`, the CoAP requests). */
export const CLIENT_CID_FLAG = {
  name: 'cid',
  kind: 'boolean',
  description: 'offer an RFC 9146 Connection ID: a server that takes it keeps the session when our address changes (a NAT rebinding)',
} as const;

const KEYLOG = { name: 'keylog', kind: 'string', arg: 'FILE', description: 'append NSS key log lines (CLIENT_RANDOM) for Wireshark/tshark (-o tls.keylog_file:FILE)' } as const;

export const DTLS_SERVER = commandSpec({
  path: ['dtls', 'server'],
  summary: 'DTLS server: prints what clients send on stdout, logs sessions on stderr, runs until SIGINT or SIGTERM.',
  flags: [
    { name: 'listen', kind: 'string', arg: 'HOST:PORT', required: true, description: 'address and UDP port to listen on ([V6]:PORT for IPv6)' },
    { name: 'psk', kind: 'list', arg: 'IDENTITY:HEXKEY', description: 'a pre-shared key clients may use: identity (text), then the key in hex (1..64 bytes)' },
    ...CREDENTIAL_FLAGS,
    CLIENT_AUTH_FLAG,
    { name: 'echo', kind: 'boolean', description: 'send each record back to the client that sent it' },
    { name: 'hint', kind: 'string', arg: 'TEXT', description: 'PSK identity hint to send in ServerKeyExchange' },
    SERVER_CID_FLAG,
    SESSION_STORE_FLAG,
    MTU,
    ...SERVER_LIMIT_FLAGS,
    KEYLOG,
    { name: 'quiet', short: 'q', kind: 'boolean', description: 'no session log on stderr' },
  ],
  anyOf: [['psk', 'key']],
  examples: [
    `coaps dtls server --listen 127.0.0.1:5684 --psk ${PSK} --echo`,
    `coaps dtls server --listen 0.0.0.0:5684 --psk ${PSK} --cid 4 --echo`,
    `coaps dtls server --listen 0.0.0.0:5684 --psk ${PSK} --cid --session-store redis://127.0.0.1:6379 --echo`,
    'coaps dtls server --listen 127.0.0.1:5684 --key server.hex --trust client.xy --require-client-auth --echo',
    'coaps dtls server --listen [::1]:5684 --key server.key --cert server.crt --ca ca.crt --keylog keys.txt',
    `coaps dtls server --listen 0.0.0.0:5684 --psk ${PSK} --max-sessions 100000 --max-handshakes 5000`,
  ],
});

export const DTLS_CLIENT = commandSpec({
  path: ['dtls', 'client'],
  summary: 'DTLS client: sends each line of standard input as one record and prints what comes back.',
  positionals: [{ name: 'HOST:PORT', description: "the server's address and UDP port ([V6]:PORT for IPv6)" }],
  flags: [
    { name: 'psk', kind: 'string', arg: 'IDENTITY:HEXKEY', description: 'the pre-shared key: identity (text), then the key in hex (1..64 bytes)' },
    ...CREDENTIAL_FLAGS,
    { name: 'server-name', kind: 'string', arg: 'NAME', description: 'X.509: the DNS name or IP address the server certificate must carry' },
    CLIENT_CID_FLAG,
    {
      name: 'resume',
      kind: 'string',
      arg: 'FILE',
      description: 'resume the session kept in FILE, if there is one (abbreviated handshake), and keep the new one there (mode 0600: it holds the master secret)',
    },
    MTU,
    KEYLOG,
    { name: 'timeout', kind: 'string', arg: 'MS', default: '30000', description: 'give up when the handshake has not finished after MS milliseconds (1..3600000)' },
    { name: 'wait', kind: 'string', arg: 'MS', default: '500', description: 'at end of input, close once MS milliseconds pass without traffic (0..600000)' },
    { name: 'quiet', short: 'q', kind: 'boolean', description: 'no connection log on stderr' },
  ],
  anyOf: [['psk', 'trust', 'ca']],
  notes: [
    'At end of input it waits (--wait), then sends close_notify. A failed handshake exits 1 with a one-line reason.',
    'With --resume, a server that no longer knows the session answers with a full handshake; the log says which it was.',
  ],
  examples: [
    `coaps dtls client 127.0.0.1:5684 --psk ${PSK}`,
    `coaps dtls client 127.0.0.1:5684 --psk ${PSK} --resume session.bin --cid`,
    'coaps dtls client 127.0.0.1:5684 --key client.hex --trust server.xy --timeout 5000',
    'coaps dtls client localhost:5684 --ca ca.crt --key client.key --cert client.crt --server-name localhost',
  ],
});
