import { EMPTY_BYTES } from '../../bytes/util.js';
import { DtlsError } from '../errors.js';
import type { ConnectionConfig } from '../config.js';
import { CipherSuite, ExtensionType } from '../wire/constants.js';
import {
  CertificateType,
  decodeCertificateTypeChoice,
  decodeU16List,
  decodeU8List,
  EC_POINT_FORMAT_UNCOMPRESSED,
  ECDSA_SECP256R1_SHA256,
  encodeU16List,
  encodeU8List,
  NamedCurve,
} from '../wire/ec-extensions.js';
import { EMPTY_RENEGOTIATION_INFO, findExtension, isEmptyRenegotiationInfo, type Extension } from '../wire/extensions.js';

const PSK = CipherSuite.TLS_PSK_WITH_AES_128_CCM_8;
const ECDHE = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;

/** Certificate types we can present with our own ECDHE credentials, in preference order. */
export function ownCertificateTypes(cfg: ConnectionConfig): number[] {
  const e = cfg.ecdhe;
  if (!e) return [];
  const out: number[] = [];
  if (e.rawPublicKey) out.push(CertificateType.RawPublicKey);
  if (e.certificateChain?.length) out.push(CertificateType.X509);
  return out;
}

/** RFC 7627 and RFC 5746 extensions of every ClientHello. */
export function baseHelloExtensions(): Extension[] {
  return [
    { type: ExtensionType.extended_master_secret, data: EMPTY_BYTES },
    { type: ExtensionType.renegotiation_info, data: EMPTY_RENEGOTIATION_INFO },
  ];
}

/** RFC 8422 and RFC 7250 extensions added when ECDHE is offered. */
export function ecdheHelloExtensions(cfg: ConnectionConfig): Extension[] {
  const exts: Extension[] = [
    { type: ExtensionType.supported_groups, data: encodeU16List([NamedCurve.secp256r1]) },
    { type: ExtensionType.ec_point_formats, data: encodeU8List([EC_POINT_FORMAT_UNCOMPRESSED]) },
    { type: ExtensionType.signature_algorithms, data: encodeU16List([ECDSA_SECP256R1_SHA256]) },
  ];
  // RFC 7250 §3: omitted when X.509 is the only type (the default).
  const own = ownCertificateTypes(cfg);
  if (own.includes(CertificateType.RawPublicKey)) exts.push({ type: ExtensionType.client_certificate_type, data: encodeU8List(own) });
  if (cfg.acceptPeerCertificateTypes.includes(CertificateType.RawPublicKey)) {
    exts.push({ type: ExtensionType.server_certificate_type, data: encodeU8List(cfg.acceptPeerCertificateTypes) });
  }
  return exts;
}

/** What the server decided from a ClientHello. */
export interface ServerChoice {
  suite: number;
  extendedMasterSecret: boolean;
  /** ECDHE: the type of our Certificate. */
  serverCertificateType: number;
  /** ECDHE with client authentication: the type we ask for; undefined: no CertificateRequest. */
  clientCertificateType: number | undefined;
  extensions: Extension[];
}

/** Server side: picks the suite (our preference) and answers only what the client offered. */
export function chooseServerParameters(cfg: ConnectionConfig, suites: readonly number[], exts: readonly Extension[], hasPsk: boolean): ServerChoice {
  const ems = findExtension(exts, ExtensionType.extended_master_secret);
  if (ems && ems.data.length !== 0) throw new DtlsError('DECODE_ERROR', 'extended_master_secret must be empty');
  const ri = findExtension(exts, ExtensionType.renegotiation_info);
  // RFC 5746 §3.6: on an initial handshake renegotiated_connection must be empty.
  if (ri && !isEmptyRenegotiationInfo(ri.data)) throw new DtlsError('HANDSHAKE_FAILURE', 'non-empty renegotiation_info on an initial handshake');
  const secureRenegotiation = !!ri || suites.includes(CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV);
  if (!ems && cfg.requireExtendedMasterSecret) throw new DtlsError('HANDSHAKE_FAILURE', 'client does not offer extended_master_secret (RFC 7627)');

  let failure: DtlsError | undefined;
  for (const suite of cfg.suites) {
    if (!suites.includes(suite)) continue;
    if (suite === PSK && hasPsk) return serverChoice(exts, suite, CertificateType.X509, undefined, !!ems, secureRenegotiation);
    if (suite === ECDHE && cfg.ecdhe) {
      try {
        const e = ecdheChoice(cfg, exts);
        if (e) return serverChoice(exts, suite, e.server, e.client, !!ems, secureRenegotiation);
      } catch (err) {
        failure = err as DtlsError;
      }
    }
  }
  throw failure ?? new DtlsError('HANDSHAKE_FAILURE', 'no cipher suite in common');
}

/** The choice made, with the extensions that answer the client's (a function of its own: no closure per hello). */
function serverChoice(exts: readonly Extension[], suite: number, server: number, client: number | undefined, ems: boolean, secureRenegotiation: boolean): ServerChoice {
  const out: Extension[] = [];
  if (secureRenegotiation) out.push({ type: ExtensionType.renegotiation_info, data: EMPTY_RENEGOTIATION_INFO });
  if (ems) out.push({ type: ExtensionType.extended_master_secret, data: EMPTY_BYTES });
  if (suite === ECDHE) {
    if (findExtension(exts, ExtensionType.ec_point_formats)) out.push({ type: ExtensionType.ec_point_formats, data: encodeU8List([EC_POINT_FORMAT_UNCOMPRESSED]) });
    if (findExtension(exts, ExtensionType.server_certificate_type)) out.push({ type: ExtensionType.server_certificate_type, data: new Uint8Array([server]) });
    if (client !== undefined && findExtension(exts, ExtensionType.client_certificate_type)) {
      out.push({ type: ExtensionType.client_certificate_type, data: new Uint8Array([client]) });
    }
  }
  return { suite, extendedMasterSecret: ems, serverCertificateType: server, clientCertificateType: client, extensions: out };
}

/** ECDHE parameters, or undefined when the client cannot do ECDHE with us. */
function ecdheChoice(cfg: ConnectionConfig, exts: readonly Extension[]): { server: number; client: number | undefined } | undefined {
  const groups = findExtension(exts, ExtensionType.supported_groups);
  if (groups && !decodeU16List(groups.data, 'supported_groups').includes(NamedCurve.secp256r1)) return undefined;
  const formats = findExtension(exts, ExtensionType.ec_point_formats);
  if (formats && !decodeU8List(formats.data, 'ec_point_formats').includes(EC_POINT_FORMAT_UNCOMPRESSED)) return undefined;
  const algs = findExtension(exts, ExtensionType.signature_algorithms);
  if (algs && !decodeU16List(algs.data, 'signature_algorithms').includes(ECDSA_SECP256R1_SHA256)) return undefined;

  const own = ownCertificateTypes(cfg);
  const sct = findExtension(exts, ExtensionType.server_certificate_type);
  const wantedServer = sct ? decodeU8List(sct.data, 'server_certificate_type') : [CertificateType.X509];
  const server = wantedServer.find((t) => own.includes(t));
  if (server === undefined) {
    throw new DtlsError('UNSUPPORTED_CERTIFICATE', 'no server certificate type in common');
  }
  if (cfg.clientAuth === 'none') return { server, client: undefined };
  const cct = findExtension(exts, ExtensionType.client_certificate_type);
  const offeredClient = cct ? decodeU8List(cct.data, 'client_certificate_type') : [CertificateType.X509];
  const client = offeredClient.find((t) => cfg.acceptPeerCertificateTypes.includes(t));
  if (client === undefined && cfg.clientAuth === 'required') {
    throw new DtlsError('UNSUPPORTED_CERTIFICATE', 'no client certificate type in common');
  }
  return { server, client };
}

/**
 * Client side: the ServerHello may only answer extensions we offered (RFC 5246 §7.4.1.4);
 * EMS and renegotiation_info are checked here, the others are left to the suite.
 */
export function checkServerHelloExtensions(exts: readonly Extension[], offered: readonly Extension[]): { extendedMasterSecret: boolean } {
  let ems = false;
  for (const e of exts) {
    if (!findExtension(offered, e.type)) throw new DtlsError('UNSUPPORTED_EXTENSION', `ServerHello carries extension ${e.type} that was not offered`);
    if (e.type === ExtensionType.extended_master_secret) {
      if (e.data.length !== 0) throw new DtlsError('DECODE_ERROR', 'extended_master_secret must be empty');
      ems = true;
    } else if (e.type === ExtensionType.renegotiation_info && !isEmptyRenegotiationInfo(e.data)) {
      throw new DtlsError('HANDSHAKE_FAILURE', 'non-empty renegotiation_info on an initial handshake');
    }
  }
  return { extendedMasterSecret: ems };
}

/** Client side, ECDHE: the certificate types the ServerHello chose (RFC 7250 §4.2; X.509 when absent). */
export function chosenCertificateTypes(exts: readonly Extension[], offered: readonly Extension[]): { serverCertificateType: number; clientCertificateType: number } {
  const pick = (type: number): number => {
    const e = findExtension(exts, type);
    if (!e) return CertificateType.X509;
    const t = decodeCertificateTypeChoice(e.data, 'certificate type');
    if (!decodeU8List(findExtension(offered, type)!.data, 'certificate types').includes(t)) throw new DtlsError('ILLEGAL_PARAMETER', `server chose certificate type ${t} that was not offered`);
    return t;
  };
  return { serverCertificateType: pick(ExtensionType.server_certificate_type), clientCertificateType: pick(ExtensionType.client_certificate_type) };
}

/**
 * Record size negotiation. RFC 8449 §4: `uint16 RecordSizeLimit;` the largest plaintext the
 * sender is willing to receive (64..2^14). RFC 6066 §4: `enum { 2^9(1), 2^10(2), 2^11(3),
 * 2^12(4), (255) } MaxFragmentLength;` echoed by the server. When both are offered the server
 * uses record_size_limit (RFC 8449 §5). Returns the limit for the records we send.
 */
export function recordSizeExtensions(cfg: ConnectionConfig): Extension[] {
  const out: Extension[] = [];
  if (cfg.recordSizeLimit < 16384) out.push({ type: ExtensionType.record_size_limit, data: new Uint8Array([cfg.recordSizeLimit >> 8, cfg.recordSizeLimit & 0xff]) });
  if (cfg.maxFragmentLength) out.push({ type: ExtensionType.max_fragment_length, data: new Uint8Array([Math.log2(cfg.maxFragmentLength) - 8]) });
  return out;
}

/** Server side: the answer to the client's record size extensions, and the limits both ways. */
export function answerRecordSize(cfg: ConnectionConfig, exts: readonly Extension[]): { readonly extensions: readonly Extension[]; sendLimit: number; receiveLimit: number } {
  const rsl = findExtension(exts, ExtensionType.record_size_limit);
  if (rsl) {
    if (rsl.data.length !== 2) throw new DtlsError('DECODE_ERROR', 'record_size_limit must be two bytes');
    const limit = (rsl.data[0]! << 8) | rsl.data[1]!;
    if (limit < 64) throw new DtlsError('ILLEGAL_PARAMETER', `record_size_limit ${limit} is below 64 (RFC 8449 §4)`);
    const ours = Math.min(cfg.recordSizeLimit, 16384);
    return { extensions: [{ type: ExtensionType.record_size_limit, data: new Uint8Array([ours >> 8, ours & 0xff]) }], sendLimit: Math.min(limit, 16384), receiveLimit: ours };
  }
  const mfl = findExtension(exts, ExtensionType.max_fragment_length);
  if (mfl) {
    if (mfl.data.length !== 1 || mfl.data[0]! < 1 || mfl.data[0]! > 4) throw new DtlsError('ILLEGAL_PARAMETER', 'max_fragment_length must be 1..4 (RFC 6066 §4)');
    const limit = 2 ** (8 + mfl.data[0]!);
    return { extensions: [{ type: ExtensionType.max_fragment_length, data: mfl.data.slice() }], sendLimit: limit, receiveLimit: limit };
  }
  return NO_RECORD_SIZE;
}
/** No record size extension offered: nothing to answer (shared; callers copy what they extend). */
const NO_RECORD_SIZE: { readonly extensions: readonly Extension[]; readonly sendLimit: number; readonly receiveLimit: number } = { extensions: [], sendLimit: 16384, receiveLimit: 16384 };

/**
 * Client side: the server's answer gives the limit for the records we send, and whether ours
 * is in effect (RFC 8449 §4: only when the server answered record_size_limit too).
 */
export function readRecordSize(cfg: ConnectionConfig, exts: readonly Extension[], offered: readonly Extension[]): { sendLimit: number; receiveLimit: number } {
  const rsl = findExtension(exts, ExtensionType.record_size_limit);
  if (rsl) {
    if (rsl.data.length !== 2) throw new DtlsError('DECODE_ERROR', 'record_size_limit must be two bytes');
    const limit = (rsl.data[0]! << 8) | rsl.data[1]!;
    if (limit < 64) throw new DtlsError('ILLEGAL_PARAMETER', `record_size_limit ${limit} is below 64`);
    return { sendLimit: Math.min(limit, 16384), receiveLimit: cfg.recordSizeLimit };
  }
  const mfl = findExtension(exts, ExtensionType.max_fragment_length);
  if (mfl) {
    const mine = findExtension(offered, ExtensionType.max_fragment_length);
    if (!mine || mfl.data.length !== 1 || mfl.data[0] !== mine.data[0]) throw new DtlsError('ILLEGAL_PARAMETER', 'max_fragment_length answer differs from the offer (RFC 6066 §4)');
    const limit = 2 ** (8 + mfl.data[0]!);
    return { sendLimit: limit, receiveLimit: limit };
  }
  return { sendLimit: 16384, receiveLimit: 16384 };
}
