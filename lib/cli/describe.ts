import { toHex } from '../bytes/util.js';
import { DtlsError } from '../dtls/errors.js';
import { alertName } from '../dtls/wire/constants.js';

/** Bytes as text when they are printable ASCII (a PSK identity, a line of input), else hex. */
export const printable = (b: Uint8Array): string => {
  const s = new TextDecoder('utf-8', { fatal: false }).decode(b);
  return /^[\x20-\x7e\t\r\n]*$/.test(s) ? s : toHex(b);
};

/** An error as the CLI prints it: a DtlsError's code (and alert), else the message. */
export function describeError(e: unknown): string {
  if (e instanceof DtlsError) return `${e.code}${e.alert !== undefined && e.code === 'PEER_ALERT' ? ` (${alertName(e.alert)})` : ''}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
