import { CLIENT_AUTH_FLAG, CREDENTIAL_FLAGS } from '../credentials.js';
import { commandSpec } from '../flags.js';
import { SERVER_CID_FLAG } from './dtls.js';
import { COAP_LIMIT_FLAGS } from './coap-limits.js';
import { SERVER_LIMIT_FLAGS } from '../server-limits.js';
import { SESSION_STORE_FLAG } from '../session-store.js';

export const SERVE = commandSpec({
  path: ['serve'],
  summary: 'CoAP demo server: /hello, /time (observable), /large (4096 bytes, block-wise), /echo (PUT, POST), /.well-known/core; runs until SIGINT or SIGTERM.',
  flags: [
    { name: 'listen', kind: 'string', arg: 'HOST:PORT', required: true, description: 'address and UDP port to listen on ([V6]:PORT for IPv6)' },
    { name: 'psk', kind: 'list', arg: 'IDENTITY:HEXKEY', description: 'a pre-shared key clients may use: identity (text), then the key in hex (1..64 bytes)' },
    ...CREDENTIAL_FLAGS,
    CLIENT_AUTH_FLAG,
    SERVER_CID_FLAG,
    SESSION_STORE_FLAG,
    { name: 'notify-ms', kind: 'string', arg: 'MS', default: '1000', description: 'send /time notifications to its observers every MS milliseconds (1..3600000)' },
    { name: 'verbose', short: 'v', kind: 'boolean', description: 'log each request on stderr' },
    ...SERVER_LIMIT_FLAGS,
    ...COAP_LIMIT_FLAGS,
  ],
  notes: [
    'With --psk or --key it serves coaps:// (DTLS), otherwise plain coap://.',
    'The DTLS limits (--max-sessions, --max-handshakes, --max-handshakes-per-address, --handshake-timeout), --cid and --session-store are for coaps://; refused handshakes are logged on stderr.',
  ],
  examples: [
    'coaps serve --listen 127.0.0.1:5684 --psk Client_identity:73656372657450534b',
    'coaps serve --listen 0.0.0.0:5684 --psk Client_identity:73656372657450534b --cid 4',
    'coaps serve --listen 0.0.0.0:5684 --psk Client_identity:73656372657450534b --cid 4 --session-store redis://127.0.0.1:6379',
    'coaps serve --listen 0.0.0.0:5684 --psk Client_identity:73656372657450534b --max-sessions 100000 --max-handshakes 5000',
    'coaps serve --listen 127.0.0.1:5683 -v',
    'coaps serve --listen 127.0.0.1:5684 --key server.hex --trust client.xy --require-client-auth --notify-ms 5000',
  ],
});
