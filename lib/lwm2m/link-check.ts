import { attribute, LinkFormatError, parseLinks, type Link } from '../coap/link-format.js';
import { pathToString, startsWith, type Path } from './types.js';

/**
 * What an LwM2M server accepts as a Register (or Update) object list and as a Discover answer
 * (OMA-TS-LightweightM2M-Core §5.3.1, §5.4.2, §5.1.2 attributes): the link-format syntax is read
 * leniently (coap/link-format.ts), then every link is checked strictly, and the first problem
 * is a {@link Lwm2mLinkError} that names the link and what is wrong with it:
 *  - the payload is ASCII (link-format targets and LwM2M attribute values are);
 *  - a target is an LwM2M path: "/O" or "/O/I" in a registration (under the alternate root
 *    path when a root link "</path>;rt="oma.lwm2m"" announces one), "/O" to "/O/I/R/RI" at or
 *    below the requested path in a Discover answer; ids are decimal without leading zeros,
 *    objects and resources 0..65535, instances 0..65534 (65535 is "no instance");
 *  - no target twice, at most one rt per link;
 *  - the attributes LwM2M defines carry values of their type: pmin, pmax, epmin, epmax
 *    (unsigned integer), gt, lt (number), st (non-negative number), dim (0..255), ssid
 *    (1..65534), ver and lwm2m ("major.minor"), ct (cardinals). Other attributes are RFC 6690
 *    extensions and pass.
 */
export class Lwm2mLinkError extends Error {
  override readonly name = 'Lwm2mLinkError';
}

const ID = /^(?:0|[1-9][0-9]{0,4})$/;
const UINT = /^(?:0|[1-9][0-9]*)$/;
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;
const VERSION = /^[0-9]+\.[0-9]+$/;
const CT = /^(?:0|[1-9][0-9]*)(?: (?:0|[1-9][0-9]*))*$/;

function asciiText(payload: Uint8Array, what: string): string {
  for (let i = 0; i < payload.length; i++) {
    const b = payload[i]!;
    if (b >= 0x80) throw new Lwm2mLinkError(`${what}: byte 0x${b.toString(16)} at offset ${i} is not ASCII`);
  }
  return String.fromCharCode(...payload);
}

function parse(payload: Uint8Array, what: string): Link[] {
  const text = asciiText(payload, what);
  try {
    return parseLinks(text);
  } catch (e) {
    if (e instanceof LinkFormatError) throw new Lwm2mLinkError(`${what}: ${e.message}`);
    throw e;
  }
}

/** "/3/0" -> [3, 0]; undefined when it is not an LwM2M path of 1..4 levels. */
export function lwm2mPathOf(target: string): Path | undefined {
  if (!target.startsWith('/')) return undefined;
  const segs = target.slice(1).split('/');
  if (segs.length > 4 || segs.some((s) => !ID.test(s) || Number(s) > 65535)) return undefined;
  const p = segs.map(Number);
  if (p.length >= 2 && p[1] === 65535) return undefined;
  return p;
}

const numeric = (re: RegExp, min?: number, max?: number) => (v: string) => re.test(v) && (min === undefined || Number(v) >= min) && (max === undefined || Number(v) <= max);

/** The LwM2M attributes and what their values look like. */
const ATTRIBUTES: Record<string, (v: string) => boolean> = {
  pmin: numeric(UINT),
  pmax: numeric(UINT),
  epmin: numeric(UINT),
  epmax: numeric(UINT),
  gt: numeric(NUMBER),
  lt: numeric(NUMBER),
  st: (v) => NUMBER.test(v) && !v.startsWith('-'),
  dim: numeric(UINT, 0, 255),
  ssid: numeric(UINT, 1, 65534),
  ver: (v) => VERSION.test(v),
  lwm2m: (v) => VERSION.test(v),
  ct: (v) => CT.test(v),
};

function checkAttributes(link: Link, what: string): void {
  let rt = 0;
  for (const [name, value] of link.attributes) {
    const n = name.toLowerCase();
    if (n === 'rt' && ++rt > 1) throw new Lwm2mLinkError(`${what}: <${link.target}> has more than one rt`);
    const check = ATTRIBUTES[n];
    if (!check) continue;
    if (value === true || !check(value)) throw new Lwm2mLinkError(`${what}: <${link.target}>;${name}${value === true ? ' has no value' : `=${value} is not a valid ${n}`}`);
  }
}

function noDuplicates(links: readonly Link[], what: string): void {
  const seen = new Set<string>();
  for (const l of links) {
    if (seen.has(l.target)) throw new Lwm2mLinkError(`${what}: <${l.target}> is listed twice`);
    seen.add(l.target);
  }
}

/**
 * The links of a Register or Update payload, checked: the optional root link first ("</>" or
 * the alternate root path, with rt="oma.lwm2m"), then objects and object instances.
 */
export function checkRegistrationLinks(payload: Uint8Array): Link[] {
  const what = 'registration links';
  const links = parse(payload, what);
  noDuplicates(links, what);
  let root = '';
  links.forEach((l, i) => {
    checkAttributes(l, what);
    const isRoot = l.target === '/' || attribute(l, 'rt') === 'oma.lwm2m';
    if (isRoot) {
      if (i !== 0) throw new Lwm2mLinkError(`${what}: the root link <${l.target}> must come first`);
      if (l.target !== '/') {
        if (!/^(?:\/[A-Za-z0-9\-._~]+)+$/.test(l.target) || lwm2mPathOf(l.target)) throw new Lwm2mLinkError(`${what}: <${l.target}> is not an alternate root path`);
        root = l.target;
      }
      return;
    }
    if (root && !l.target.startsWith(root + '/')) throw new Lwm2mLinkError(`${what}: <${l.target}> is not under the alternate root path ${root}`);
    const p = lwm2mPathOf(l.target.slice(root.length));
    if (!p || p.length > 2) throw new Lwm2mLinkError(`${what}: <${l.target}> is not an object or object instance path (/O or /O/I)`);
  });
  return links;
}

/** The links of a Discover answer on `requested`, checked (every target at or below it). */
export function checkDiscoverLinks(payload: Uint8Array, requested: Path): Link[] {
  const what = `Discover ${pathToString(requested)}`;
  const links = parse(payload, what);
  noDuplicates(links, what);
  for (const l of links) {
    checkAttributes(l, what);
    const p = lwm2mPathOf(l.target);
    if (!p) throw new Lwm2mLinkError(`${what}: <${l.target}> is not an LwM2M path`);
    if (!startsWith(p, requested)) throw new Lwm2mLinkError(`${what}: <${l.target}> is outside the requested path`);
  }
  return links;
}
