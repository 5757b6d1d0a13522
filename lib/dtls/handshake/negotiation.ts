import { DtlsError } from '../errors.js';
import { CipherSuite, ExtensionType } from '../wire/constants.js';
import { EMPTY_RENEGOTIATION_INFO, findExtension, isEmptyRenegotiationInfo, type Extension } from '../wire/extensions.js';

/** The suites this build negotiates, in the server's order of preference. */
export const SUPPORTED_SUITES = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8] as const;

/** What the ClientHello offered that shapes the ServerHello's extensions. */
export interface OfferedExtensions {
  extendedMasterSecret: boolean;
  secureRenegotiation: boolean;
}

/** RFC 7627 + RFC 5746 extensions of our ClientHello. */
export function clientHelloExtensions(): Extension[] {
  return [
    { type: ExtensionType.extended_master_secret, data: new Uint8Array(0) },
    { type: ExtensionType.renegotiation_info, data: EMPTY_RENEGOTIATION_INFO },
  ];
}

/** Reads the ClientHello's extensions; unknown ones are ignored (RFC 5246 §7.4.1.4). */
export function readOffered(exts: readonly Extension[], suites: readonly number[]): OfferedExtensions {
  const ems = findExtension(exts, ExtensionType.extended_master_secret);
  if (ems && ems.data.length !== 0) throw new DtlsError('DECODE_ERROR', 'extended_master_secret must be empty');
  const ri = findExtension(exts, ExtensionType.renegotiation_info);
  // RFC 5746 §3.6: on an initial handshake renegotiated_connection must be empty.
  if (ri && !isEmptyRenegotiationInfo(ri.data)) throw new DtlsError('HANDSHAKE_FAILURE', 'non-empty renegotiation_info on an initial handshake');
  return {
    extendedMasterSecret: !!ems,
    secureRenegotiation: !!ri || suites.includes(CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV),
  };
}

/** The ServerHello answers only what the client offered (RFC 5246 §7.4.1.4). */
export function serverHelloExtensions(o: OfferedExtensions): Extension[] {
  const out: Extension[] = [];
  if (o.secureRenegotiation) out.push({ type: ExtensionType.renegotiation_info, data: EMPTY_RENEGOTIATION_INFO });
  if (o.extendedMasterSecret) out.push({ type: ExtensionType.extended_master_secret, data: new Uint8Array(0) });
  return out;
}

/** Client side: the ServerHello may only carry extensions we offered. Returns whether EMS was negotiated. */
export function checkServerHelloExtensions(exts: readonly Extension[]): { extendedMasterSecret: boolean } {
  let ems = false;
  for (const e of exts) {
    if (e.type === ExtensionType.extended_master_secret) {
      if (e.data.length !== 0) throw new DtlsError('DECODE_ERROR', 'extended_master_secret must be empty');
      ems = true;
    } else if (e.type === ExtensionType.renegotiation_info) {
      if (!isEmptyRenegotiationInfo(e.data)) throw new DtlsError('HANDSHAKE_FAILURE', 'non-empty renegotiation_info on an initial handshake');
    } else {
      throw new DtlsError('UNEXPECTED_MESSAGE', `ServerHello carries extension ${e.type} that was not offered`, 110 /* unsupported_extension */);
    }
  }
  return { extendedMasterSecret: ems };
}
