import { readFileSync } from 'node:fs';
import { CoapClient, type RequestOptions } from '../entry/coap.js';
import type { ConnectOptions } from '../entry/dtls.js';
import type { CoapResponse } from '../coap/api-types.js';
import { decodeUint, OptionNumber } from '../coap/message.js';
import { describeError } from './dtls.js';
import { parseIntArg, parsePskArg, UsageError } from './args.js';
import { resolveCredentialFlags } from './credentials.js';
import { parseFlags } from './flags.js';
import { COAP_COMMANDS, type Method } from './specs/coap.js';
import { CoapError } from '../coap/errors.js';

const OPTION_NAMES: Record<number, string> = Object.fromEntries(Object.entries(OptionNumber).map(([k, v]) => [v, k]));

function printable(b: Uint8Array): string {
  const s = new TextDecoder().decode(b);
  return /^[\x20-\x7e\t\r\n]*$/.test(s) ? s : Buffer.from(b).toString('hex');
}

/** libcoap-style: code, then options when verbose, then the payload. */
function show(r: CoapResponse, verbose: boolean): void {
  if (verbose) {
    process.stderr.write(`${r.codeText}\n`);
    for (const o of r.options) {
      const name = OPTION_NAMES[o.number] ?? `Option${o.number}`;
      const numeric = [OptionNumber.ContentFormat, OptionNumber.MaxAge, OptionNumber.Observe, OptionNumber.Size1, OptionNumber.Size2, OptionNumber.Accept].includes(o.number as 12);
      process.stderr.write(`  ${name}: ${numeric ? decodeUint(o.value) : printable(o.value)}\n`);
    }
  } else if (!r.ok) process.stderr.write(`${r.codeText}\n`);
  if (r.payload.length) process.stdout.write(printable(r.payload) + (r.payload.at(-1) === 10 ? '' : '\n'));
}

export async function coapCommand(method: Method, argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(COAP_COMMANDS[method], argv);
  const url = positionals[0]!;
  if (!/^coaps?:\/\//.test(url)) throw new UsageError('URL must start with coap:// or coaps://');
  if (values.payload !== undefined && values.file !== undefined) throw new UsageError('give --payload or -f, not both');
  if (values.cid && !url.startsWith('coaps://')) throw new UsageError('--cid is for coaps:// URLs (DTLS)');
  let dtls: Omit<ConnectOptions, 'host' | 'port'> | undefined;
  if (url.startsWith('coaps://')) {
    const cred = resolveCredentialFlags(values, !!values.psk);
    if (!values.psk && !cred.hasTrust) throw new UsageError('coaps:// needs --psk ID:HEX or --trust/--ca');
    dtls = {
      ...(values.psk ? { psk: parsePskArg(values.psk) } : {}),
      ...(cred.ecdhe ? { ecdhe: cred.ecdhe } : {}),
      ...(cred.suites ? { suites: cred.suites } : {}),
      ...(cred.hasTrust ? { trust: cred.trust } : {}),
      ...(values.cid ? { connectionId: true } : {}),
      timeoutMs: 30_000,
    };
  }
  const o: RequestOptions = { method, confirmable: !values.non };
  if (values.payload !== undefined) o.payload = values.payload;
  if (values.file !== undefined) o.payload = new Uint8Array(readFileSync(values.file));
  const cf = parseIntArg(values['content-format'], '--content-format', 0, 65535);
  if (cf !== undefined) o.contentFormat = cf;
  const accept = parseIntArg(values.accept, '--accept', 0, 65535);
  if (accept !== undefined) o.accept = accept;
  const bs = parseIntArg(values['block-size'], '--block-size', 16, 1024);
  if (bs !== undefined) {
    if ((bs & (bs - 1)) !== 0) throw new UsageError('--block-size must be a power of two (16..1024)');
    o.blockSize = bs;
  }
  o.timeoutMs = parseIntArg(values.timeout, '--timeout', 1, 3_600_000);
  const count = values.observe === undefined ? undefined : parseIntArg(values.observe, '--observe', 0, 2 ** 31) || Infinity;
  const client = new CoapClient(dtls ? { dtls } : {});
  try {
    if (count !== undefined) {
      const { first, observation } = await client.observe(url, o);
      show(first, values.verbose);
      let n = 1;
      if (n < count) {
        for await (const r of observation) {
          show(r, values.verbose);
          if (++n >= count) break;
        }
      }
      observation.cancel();
      await new Promise((r) => setTimeout(r, 100));
      return first.ok ? 0 : 1;
    }
    const r = await client.request(url, o);
    show(r, values.verbose);
    return r.ok ? 0 : 1;
  } catch (e) {
    process.stderr.write(`coaps: ${e instanceof CoapError ? `${e.code}: ${e.message}` : describeError(e)}\n`);
    return 1;
  } finally {
    await client.close();
  }
}
