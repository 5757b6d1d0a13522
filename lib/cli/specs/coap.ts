import { CREDENTIAL_FLAGS } from '../credentials.js';
import { commandSpec } from '../flags.js';
import { CLIENT_CID_FLAG } from './dtls.js';

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

const PSK = 'Client_identity:73656372657450534b';

const COAP_FLAGS = [
  { name: 'payload', kind: 'string', arg: 'TEXT', description: 'request body, as text' },
  { name: 'file', short: 'f', kind: 'string', arg: 'FILE', description: 'request body, read from FILE (not with --payload)' },
  { name: 'content-format', kind: 'string', arg: 'N', description: 'Content-Format of the body, 0..65535 (0 text/plain, 50 JSON, 60 CBOR, 112 SenML JSON)' },
  { name: 'accept', kind: 'string', arg: 'N', description: 'Accept: the Content-Format wanted in the response, 0..65535' },
  { name: 'block-size', kind: 'string', arg: 'N', description: 'block-wise transfer size, a power of two in 16..1024, asked for from the first request (without it: 1024, only when needed)' },
  { name: 'observe', kind: 'optional', arg: 'COUNT', accepts: /^\d+$/, implicit: '0', description: 'observe the resource: print COUNT responses, the first included, then cancel (no COUNT or 0: until interrupted)' },
  { name: 'non', kind: 'boolean', description: 'send the request non-confirmable (NON) instead of CON' },
  { name: 'psk', kind: 'string', arg: 'IDENTITY:HEXKEY', description: 'coaps://: the pre-shared key, identity (text), then the key in hex (1..64 bytes)' },
  ...CREDENTIAL_FLAGS,
  CLIENT_CID_FLAG,
  { name: 'timeout', kind: 'string', arg: 'MS', default: '100000', description: 'give up on the request after MS milliseconds (1..3600000)' },
  { name: 'verbose', short: 'v', kind: 'boolean', description: 'print the response code and options on stderr' },
] as const;

const EXAMPLES: Record<Method, string[]> = {
  GET: [
    `coaps get coaps://127.0.0.1:5684/large --psk ${PSK} --block-size 64 -v`,
    `coaps get coaps://127.0.0.1:5684/time --psk ${PSK} --observe 5`,
    `coaps get coaps://127.0.0.1:5684/time --psk ${PSK} --observe --cid`,
    'coaps get coap://127.0.0.1:5683/.well-known/core',
  ],
  PUT: ['coaps put coap://127.0.0.1:5683/echo -f body.bin --block-size 256', `coaps put coaps://127.0.0.1:5684/echo --psk ${PSK} --payload hello --content-format 0 -v`],
  POST: [`coaps post coaps://127.0.0.1:5684/echo --psk ${PSK} --payload hello`, 'coaps post coap://127.0.0.1:5683/echo -f reading.json --content-format 50'],
  DELETE: [`coaps delete coaps://127.0.0.1:5684/sensors/1 --psk ${PSK} -v`],
};

const coapSpec = (method: Method) =>
  commandSpec({
    path: [method.toLowerCase()],
    summary: `CoAP ${method} request (coap:// or coaps://): prints the response payload on stdout, like libcoap's coap-client.`,
    positionals: [{ name: 'URL', description: 'coap://HOST[:PORT]/PATH[?QUERY] or coaps://... ([V6] for IPv6 hosts)' }],
    flags: COAP_FLAGS,
    notes: ['coaps:// needs --psk, or --trust/--ca (with --key to authenticate). A response other than 2.xx is printed on stderr and exits 1.'],
    examples: EXAMPLES[method],
  });

export const COAP_COMMANDS = { GET: coapSpec('GET'), PUT: coapSpec('PUT'), POST: coapSpec('POST'), DELETE: coapSpec('DELETE') };
