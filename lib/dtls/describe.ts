import { toHex } from '../bytes/util.js';
import { splitRecords } from './wire/record.js';
import { decodeHandshakeFragments } from './wire/handshake.js';
import { ContentType, HandshakeType, alertName } from './wire/constants.js';

const HS_NAMES = new Map<number, string>(Object.entries(HandshakeType).map(([k, v]) => [v, k]));
const camel = (s: string) => s.replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());

/**
 * A one-line, secret-free description of a datagram for traces: record types, handshake
 * messages (with message_seq and fragment range when fragmented), and for protected records
 * only their epoch, connection ID (RFC 9146, when `cidLength` says its length) and size.
 */
export function describeDatagram(d: Uint8Array, cidLength = 0): string {
  let records;
  try {
    records = splitRecords(d, cidLength);
  } catch {
    return `malformed (${d.length} B)`;
  }
  if (records.length === 0) return `no records (${d.length} B)`;
  return records
    .map((r) => {
      if (r.epoch > 0) {
        const what = r.type === ContentType.application_data ? 'ApplicationData' : r.type === ContentType.alert ? 'Alert' : r.type === ContentType.handshake ? 'Handshake' : r.type === ContentType.tls12_cid ? 'tls12_cid' : `type ${r.type}`;
        return `${what}[epoch ${r.epoch}${r.cid ? `, cid ${toHex(r.cid)}` : ''}, ${r.length} B encrypted]`;
      }
      switch (r.type) {
        case ContentType.change_cipher_spec:
          return 'ChangeCipherSpec';
        case ContentType.alert:
          return r.fragment.length === 2 ? `Alert(${r.fragment[0] === 2 ? 'fatal' : 'warning'} ${alertName(r.fragment[1]!)})` : 'Alert(?)';
        case ContentType.handshake:
          try {
            return decodeHandshakeFragments(r.fragment)
              .map((f) => {
                const name = camel(HS_NAMES.get(f.msgType) ?? `type${f.msgType}`);
                const frag = f.body.length !== f.length ? ` frag ${f.fragmentOffset}+${f.body.length}/${f.length}` : '';
                return `${name}(seq ${f.messageSeq}${frag})`;
              })
              .join(' ');
          } catch {
            return 'Handshake(malformed)';
          }
        default:
          return `type ${r.type} (${r.length} B)`;
      }
    })
    .join(' + ');
}
