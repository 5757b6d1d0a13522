/**
 * CoRE Link Format (RFC 6690, `application/link-format`, CoAP Content-Format 40), as used by
 * `/.well-known/core` resource discovery and by LwM2M Register / Discover / Bootstrap-Discover.
 *
 * RFC 6690 §2 grammar (abridged; quoted-string from RFC 2616, parmname/ext-value from RFC 5987):
 * ```
 * Link            = link-value-list
 * link-value-list = [ link-value *[ "," link-value ] ]
 * link-value      = "<" URI-Reference ">" *( ";" link-param )
 * link-param      = ... / ( "rt" "=" relation-types ) / ( "if" "=" relation-types )
 *                 / ( "sz" "=" cardinal ) / ( "anchor" "=" DQUOTE URI-Reference DQUOTE )
 *                 / ( "title" "=" quoted-string ) / link-extension
 * link-extension  = ( parmname [ "=" ( ptoken / quoted-string ) ] ) / ( ext-name-star "=" ext-value )
 * ext-name-star   = parmname "*"
 * ptokenchar      = "!" / "#" / "$" / "%" / "&" / "'" / "(" / ")" / "*" / "+" / "-" / "." / "/"
 *                 / DIGIT / ":" / "<" / "=" / ">" / "?" / "@" / ALPHA / "[" / "]" / "^" / "_"
 *                 / "`" / "{" / "|" / "}" / "~"
 * cardinal        = "0" / %x31-39 *DIGIT
 * ```
 * plus RFC 7252 §7.2.1: `ct = "ct=" ( cardinal / DQUOTE cardinal *( 1*SP cardinal ) DQUOTE )`.
 *
 * - {@link formatLinks} is strict: it only ever emits text matching the grammar above, and throws
 *   `TypeError` for links it cannot represent.
 * - {@link parseLinks} is lenient (Postel): it accepts whitespace around separators, empty list
 *   elements, trailing garbage after values, etc., and throws {@link LinkFormatError} (never
 *   anything else) only when a link has no `<...>` target or a quoted-string is unterminated.
 */

/** A link attribute value: the (unescaped) text, or `true` for a valueless attribute (`;obs`). */
export type AttributeValue = string | true;

export interface Link {
  /** The URI-reference between `<` and `>`, verbatim (no resolution, no percent-decoding). */
  target: string;
  /** Attributes in document order; a name may repeat (e.g. two `rt`). */
  attributes: Array<[name: string, value: string | true]>;
}

/** Thrown by {@link parseLinks} for input it cannot make sense of. */
export class LinkFormatError extends Error {
  /** UTF-16 code-unit offset into the parsed text where the problem was detected. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} (at offset ${offset})`);
    this.name = 'LinkFormatError';
    this.offset = offset;
  }
}

// ---------------------------------------------------------------------------------------------
// Character classes

const HEX2 = '%[0-9A-Fa-f]{2}';
/** RFC 3986 unreserved + sub-delims, as a character-class body. */
const UNRESERVED_SUB = "A-Za-z0-9\\-._~!$&'()*+,;=";
const PATH_RE = new RegExp(`^(?:[${UNRESERVED_SUB}:@/]|${HEX2})*$`);
const QUERY_OR_FRAGMENT_RE = new RegExp(`^(?:[${UNRESERVED_SUB}:@/?]|${HEX2})*$`);
const USERINFO_RE = new RegExp(`^(?:[${UNRESERVED_SUB}:]|${HEX2})*$`);
const REG_NAME_RE = new RegExp(`^(?:[${UNRESERVED_SUB}]|${HEX2})*$`);
const IPV6ISH_RE = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/;
const IPVFUTURE_RE = new RegExp(`^[vV][0-9A-Fa-f]+\\.[${UNRESERVED_SUB}:]+$`);
const PORT_RE = /^[0-9]*$/;
const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** RFC 5987 parmname = 1*attr-char. */
const PARMNAME_RE = /^[A-Za-z0-9!#$&+\-.^_`|~]+$/;
/** RFC 6690 ptoken = 1*ptokenchar. */
const PTOKEN_RE = /^[!#$%&'()*+\-./0-9:<=>?@A-Z[\]^_`a-z{|}~]+$/;
/** RFC 5987 ext-value = charset "'" [ language ] "'" value-chars. */
const EXT_VALUE_RE = /^[A-Za-z0-9!#$%&+\-^_`{}~]+'[A-Za-z0-9-]*'(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9!#$&+\-.^_`|~])*$/;
const CARDINAL_RE = /^(?:0|[1-9][0-9]*)$/;
const CARDINAL_LIST_RE = /^(?:0|[1-9][0-9]*)(?: +(?:0|[1-9][0-9]*))+$/;
/** RFC 2616 CTL except HTAB (which is LWS and allowed in quoted-string TEXT). */
const CTL_RE = /[\u0000-\u0008\u000A-\u001F\u007F]/;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Attributes always emitted as quoted-strings (RFC 6690 examples, libcoap, Leshan, LwM2M `uri`). */
const ALWAYS_QUOTED = new Set(['rt', 'if', 'rel', 'rev', 'title', 'anchor', 'uri']);

// ---------------------------------------------------------------------------------------------
// URI-reference (RFC 3986 §4.1) check used by the strict emitter

function isAuthority(authority: string): boolean {
  let hostport = authority;
  const at = authority.indexOf('@');
  if (at >= 0) {
    if (!USERINFO_RE.test(authority.slice(0, at))) return false;
    hostport = authority.slice(at + 1);
  }
  let port = '';
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) return false;
    const literal = hostport.slice(1, close);
    if (!IPV6ISH_RE.test(literal) && !IPVFUTURE_RE.test(literal)) return false;
    const after = hostport.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return false;
      port = after.slice(1);
    }
  } else {
    const colon = hostport.indexOf(':');
    const host = colon < 0 ? hostport : hostport.slice(0, colon);
    if (colon >= 0) port = hostport.slice(colon + 1);
    if (!REG_NAME_RE.test(host)) return false;
  }
  return PORT_RE.test(port);
}

/** True when `s` is a syntactically valid RFC 3986 URI-reference (URI or relative-ref). */
export function isUriReference(s: string): boolean {
  let rest = s;
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    if (!QUERY_OR_FRAGMENT_RE.test(rest.slice(hash + 1))) return false;
    rest = rest.slice(0, hash);
  }
  const question = rest.indexOf('?');
  if (question >= 0) {
    if (!QUERY_OR_FRAGMENT_RE.test(rest.slice(question + 1))) return false;
    rest = rest.slice(0, question);
  }
  const scheme = SCHEME_RE.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    if (!isAuthority(slash < 0 ? rest.slice(2) : rest.slice(2, slash))) return false;
    rest = slash < 0 ? '' : rest.slice(slash);
  } else if (!scheme) {
    // path-noscheme: the first segment of a relative path must not contain ":".
    const firstSegment = rest.split('/', 1)[0] ?? '';
    if (firstSegment.includes(':')) return false;
  }
  return PATH_RE.test(rest);
}

// ---------------------------------------------------------------------------------------------
// Emitter

function quote(name: string, value: string): string {
  if (CTL_RE.test(value)) throw new TypeError(`link attribute ${name}: control character not allowed in a quoted-string`);
  if (LONE_SURROGATE_RE.test(value)) throw new TypeError(`link attribute ${name}: lone surrogate in value`);
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function formatParam(name: string, value: AttributeValue): string {
  const extStar = name.endsWith('*');
  const base = extStar ? name.slice(0, -1) : name;
  if (!PARMNAME_RE.test(base)) throw new TypeError(`invalid link attribute name ${JSON.stringify(name)}`);
  if (extStar) {
    if (value === true || !EXT_VALUE_RE.test(value)) {
      throw new TypeError(`link attribute ${name} needs an RFC 5987 ext-value (charset'lang'pct-encoded)`);
    }
    return `;${name}=${value}`;
  }
  if (value === true) return `;${name}`;
  if (typeof value !== 'string') throw new TypeError(`link attribute ${name}: value must be a string or true`);
  const key = name.toLowerCase();
  switch (key) {
    case 'ct':
      if (CARDINAL_RE.test(value)) return `;${name}=${value}`;
      if (CARDINAL_LIST_RE.test(value)) return `;${name}="${value}"`;
      throw new TypeError(`link attribute ct must be a cardinal or a space-separated list of cardinals, got ${JSON.stringify(value)}`);
    case 'sz':
      if (CARDINAL_RE.test(value)) return `;${name}=${value}`;
      throw new TypeError(`link attribute sz must be a cardinal, got ${JSON.stringify(value)}`);
    case 'anchor':
      if (!isUriReference(value)) throw new TypeError(`link attribute anchor must be a URI-reference, got ${JSON.stringify(value)}`);
      return `;${name}=${quote(name, value)}`;
    default:
      if (!ALWAYS_QUOTED.has(key) && PTOKEN_RE.test(value)) return `;${name}=${value}`;
      return `;${name}=${quote(name, value)}`;
  }
}

/**
 * Serialises links per RFC 6690 §2: `<target>;name=value,...` with no whitespace.
 *
 * Values: `ct` / `sz` are bare cardinals (`ct` may be a quoted space-separated list);
 * `rt`, `if`, `rel`, `rev`, `title`, `anchor` and LwM2M `uri` are always quoted-strings;
 * `name*` takes a bare RFC 5987 ext-value; any other value is bare when it is a ptoken and a
 * quoted-string (with `\"` and `\\` escapes) otherwise; `true` emits a valueless `;name`.
 *
 * @throws TypeError for a target that is not a URI-reference (this includes any `>`, `<`,
 *   `"`, whitespace, non-ASCII, or a bad `%` escape), an attribute name that is not a
 *   parmname / ext-name-star, or a value the grammar cannot carry (control characters,
 *   non-cardinal `sz`/`ct`, invalid `anchor` or ext-value).
 */
export function formatLinks(links: readonly Link[]): string {
  const out: string[] = [];
  for (const link of links) {
    const target: unknown = link.target;
    if (typeof target !== 'string' || !isUriReference(target)) {
      throw new TypeError(`invalid link target ${JSON.stringify(target)}: not an RFC 3986 URI-reference`);
    }
    let s = `<${target}>`;
    for (const [name, value] of link.attributes) {
      if (typeof name !== 'string') throw new TypeError('link attribute name must be a string');
      s += formatParam(name, value);
    }
    out.push(s);
  }
  return out.join(',');
}

// ---------------------------------------------------------------------------------------------
// Lenient parser

function isWs(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

function trimWs(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWs(s[a])) a++;
  while (b > a && isWs(s[b - 1])) b--;
  return s.slice(a, b);
}

/** Reads a quoted-string starting at the `"` at `start`; returns [unescaped, index after]. */
function readQuoted(text: string, start: number): [string, number] {
  let out = '';
  let run = start + 1;
  let i = run;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"') return [out + text.slice(run, i), i + 1];
    if (c === '\\' && i + 1 < n) {
      const d = text[i + 1];
      // RFC 2616 quoted-pair for the two characters an emitter must escape; any other
      // backslash pair is kept verbatim (as Leshan does), so `"\x"` reads as `\x`.
      if (d === '"' || d === '\\') {
        out += text.slice(run, i) + d;
        i += 2;
        run = i;
        continue;
      }
      i += 2;
      continue;
    }
    i++;
  }
  throw new LinkFormatError('unterminated quoted-string', start);
}

/** Skips anything up to the next `;`, `,` or `<` (respecting quoted-strings). */
function skipGarbage(text: string, start: number): number {
  let i = start;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === ';' || c === ',' || c === '<') return i;
    if (c === '"') i = readQuoted(text, i)[1];
    else i++;
  }
  return n;
}

function isNameStop(c: string | undefined): boolean {
  return c === '=' || c === ';' || c === ',' || c === '"' || c === '<' || isWs(c);
}

function isBareValueStop(c: string | undefined): boolean {
  return c === ';' || c === ',' || c === '"' || isWs(c);
}

/**
 * Parses an `application/link-format` payload leniently. Accepts: empty input (→ `[]`),
 * whitespace around `,` `;` `=`, empty list elements and trailing commas, quoted and bare
 * values (`,` `;` `<` `>` inside quotes are literal; `\"` and `\\` are unescaped, other
 * backslash pairs kept verbatim), valueless attributes (→ `true`), `name=` (→ `""`), repeated
 * attributes, and links not separated by a comma. Whitespace around the target is trimmed;
 * attributes with an empty name are dropped; junk after a value is skipped.
 *
 * @throws LinkFormatError (only) when a link does not start with `<` or its `>` is missing,
 *   or when a quoted-string is unterminated.
 */
export function parseLinks(text: string): Link[] {
  const s = String(text);
  const n = s.length;
  const links: Link[] = [];
  let i = 0;
  for (;;) {
    while (i < n && (s[i] === ',' || isWs(s[i]))) i++;
    if (i >= n) break;
    if (s[i] !== '<') throw new LinkFormatError('expected "<" starting a link target', i);
    const close = s.indexOf('>', i + 1);
    if (close < 0) throw new LinkFormatError('link target has no closing ">"', i);
    const link: Link = { target: trimWs(s.slice(i + 1, close)), attributes: [] };
    links.push(link);
    i = close + 1;
    for (;;) {
      i = skipGarbage(s, i);
      if (i >= n || s[i] !== ';') break;
      i++;
      while (i < n && isWs(s[i])) i++;
      const nameStart = i;
      while (i < n && !isNameStop(s[i])) i++;
      const name = s.slice(nameStart, i);
      let j = i;
      while (j < n && isWs(s[j])) j++;
      let value: AttributeValue = true;
      if (s[j] === '=') {
        i = j + 1;
        while (i < n && isWs(s[i])) i++;
        if (s[i] === '"') {
          [value, i] = readQuoted(s, i);
        } else {
          const valueStart = i;
          while (i < n && !isBareValueStop(s[i])) i++;
          value = s.slice(valueStart, i);
        }
      }
      if (name !== '') link.attributes.push([name, value]);
    }
  }
  return links;
}

// ---------------------------------------------------------------------------------------------
// Helpers

function sameName(a: string, b: string): boolean {
  return a === b || a.toLowerCase() === b.toLowerCase();
}

/** The first value of attribute `name` (ASCII case-insensitive), or `undefined` if absent. */
export function attribute(link: Link, name: string): AttributeValue | undefined {
  for (const [n, v] of link.attributes) if (sameName(n, name)) return v;
  return undefined;
}

/** A discovery filter: `[name, pattern]`; `true` means "attribute present" (`?obs`). */
export type LinkQuery = ReadonlyArray<readonly [name: string, value: string | true]>;

function matchesPattern(value: string, pattern: string): boolean {
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    if (value.startsWith(prefix)) return true;
    return value.split(' ').some((token) => token.startsWith(prefix));
  }
  if (value === pattern) return true;
  return value.split(' ').some((token) => token === pattern);
}

function linkMatches(link: Link, name: string, pattern: string | true): boolean {
  if (sameName(name, 'href')) return pattern === true || matchesPattern(link.target, pattern);
  for (const [n, v] of link.attributes) {
    if (!sameName(n, name)) continue;
    if (pattern === true) return true;
    if (matchesPattern(v === true ? '' : v, pattern)) return true;
  }
  return false;
}

/**
 * RFC 6690 §4.1 resource discovery filtering (`GET /.well-known/core?rt=temperature-c`).
 *
 * Each `[name, pattern]` keeps the links that have attribute `name` (ASCII case-insensitive)
 * with a value equal to `pattern` — or, for space-separated values such as
 * `rt="light-lux core.sen-light"` or `ct="0 40"`, any one of those values. A trailing `*` makes
 * the pattern a prefix match (`rt=temp*`; `rt=*` = attribute present). `href` filters on the
 * link target (`href=/sensors/*`). A pattern of `true` (a query item without `=`) only requires
 * the attribute to be present. Several query items must all match (logical AND); an empty
 * query returns every link. Order is preserved; links are not copied.
 */
export function filterLinks(links: readonly Link[], query: LinkQuery): Link[] {
  return links.filter((link) => query.every(([name, pattern]) => linkMatches(link, name, pattern)));
}

function decodeQueryComponent(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Turns CoAP Uri-Query option values (already decoded, one `name=value` per option) or a URL
 * query string (`?rt=x&if=y`, percent-decoded here) into a {@link LinkQuery}. An item without
 * `=` becomes `[name, true]`; empty items are skipped.
 */
export function parseDiscoveryQuery(query: string | readonly string[]): Array<[name: string, value: string | true]> {
  const fromUrl = typeof query === 'string';
  const items = fromUrl ? query.replace(/^\?/, '').split('&') : query;
  const decode = fromUrl ? decodeQueryComponent : (x: string): string => x;
  const out: Array<[string, string | true]> = [];
  for (const item of items) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    out.push(eq < 0 ? [decode(item), true] : [decode(item.slice(0, eq)), decode(item.slice(eq + 1))]);
  }
  return out;
}
