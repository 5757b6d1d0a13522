/**
 * The authority of a "coap" or "coaps" URI (RFC 7252 §6.1, §6.2):
 *
 *   coap-URI  = "coap:"  "//" host [ ":" port ] path-abempty [ "?" query ]
 *   coaps-URI = "coaps:" "//" host [ ":" port ] path-abempty [ "?" query ]
 *
 * with the default ports 5683 (coap) and 5684 (coaps). No name lookup: the host is returned as
 * written (an IP-literal without its brackets).
 */
export interface CoapUriAuthority {
  /** coaps: (DTLS). */
  secure: boolean;
  host: string;
  port: number;
}

export const COAP_DEFAULT_PORT = 5683;
export const COAPS_DEFAULT_PORT = 5684;

/** The scheme, host and port of a coap:// or coaps:// URI; undefined for anything else. */
export function coapUriAuthority(uri: string): CoapUriAuthority | undefined {
  const m = /^(coaps?):\/\/(\[[^\]]*\]|[^:/?#[\]@]*)(?::(\d{1,5}))?(?:[/?#]|$)/i.exec(uri);
  if (!m) return undefined;
  const secure = m[1]!.toLowerCase() === 'coaps';
  const port = m[3] ? Number(m[3]) : secure ? COAPS_DEFAULT_PORT : COAP_DEFAULT_PORT;
  if (port > 65535) return undefined;
  return { secure, host: m[2]!.replace(/^\[|\]$/g, ''), port };
}

/**
 * The Uri-Path segments and Uri-Query items of a coap:// or coaps:// URI (RFC 7252 §6.4 steps
 * 6-8: percent-decoded, the fragment dropped), as "/a/b" and ["x=1"]; undefined when the URI
 * is not one or a segment has a bad percent escape.
 */
export function coapUriTarget(uri: string): { path: string; query: string[] } | undefined {
  if (!coapUriAuthority(uri)) return undefined;
  const rest = uri.replace(/^coaps?:\/\/(\[[^\]]*\]|[^:/?#[\]@]*)(?::\d{1,5})?/i, '').replace(/#.*$/, '');
  const q = rest.indexOf('?');
  const pathPart = q < 0 ? rest : rest.slice(0, q);
  const queryPart = q < 0 ? '' : rest.slice(q + 1);
  try {
    const segs = pathPart.split('/').slice(1).filter((s, i, a) => !(s === '' && i === a.length - 1)).map(decodeURIComponent);
    const query = queryPart === '' ? [] : queryPart.split('&').map(decodeURIComponent);
    return { path: '/' + segs.join('/'), query };
  } catch {
    return undefined;
  }
}
