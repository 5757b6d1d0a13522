/**
 * Reference identity checks (lib/x509/hostname.ts): RFC 6125 §6.4 DNS names, RFC 5280 iPAddress
 * SANs, by vectors, and where we are deliberately stricter than Node's checkHost default.
 * (The differential test against node:crypto is x509-differential.test.ts.)
 */
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../lib/bytes/util.js';
import { parseCertificate } from '../lib/x509/certificate.js';
import { certificateMatchesName, matchesHostname, matchesIpAddress } from '../lib/x509/hostname.js';
import { certificate, name, signer, str, subjectAltName } from './helpers/x509-builder.js';

const KEY = signer('p256');
const make = (o: { dns?: string[]; ip?: Uint8Array[]; cn?: string[] }) => {
  const subject = name([[['2.5.4.10', str(0x0c, 'o')]], ...(o.cn ?? []).map((cn): Array<[string, Uint8Array]> => [['2.5.4.3', str(0x13, cn)]])]);
  const der = certificate({ subject, issuer: subject, spki: KEY.spki, extensions: o.dns || o.ip ? [subjectAltName({ dns: o.dns ?? [], ip: o.ip ?? [] })] : [] }, KEY);
  return { ours: parseCertificate(der), node: new X509Certificate(der) };
};

describe('DNS names (RFC 6125 §6.4)', () => {
  it('exact names, ASCII case-insensitively (§6.4.1)', () => {
    const { ours } = make({ dns: ['www.Example.com'] });
    for (const n of ['www.example.com', 'WWW.EXAMPLE.COM', 'www.Example.com']) expect(matchesHostname(ours, n), n).toBe(true);
    for (const n of ['example.com', 'www.example.com.', 'www.example.co', 'wwww.example.com', 'x.www.example.com']) expect(matchesHostname(ours, n), n).toBe(false);
  });

  it('a wildcard is the whole leftmost label and matches exactly one label (§6.4.3)', () => {
    const { ours } = make({ dns: ['*.example.com'] });
    for (const n of ['a.example.com', 'A.EXAMPLE.COM', 'xn--bcher-kva.example.com', 'a-b.example.com', '*.example.com']) expect(matchesHostname(ours, n), n).toBe(true);
    for (const n of ['example.com', 'a.b.example.com', '.example.com', 'a_b.example.com', 'a.example.org']) expect(matchesHostname(ours, n), n).toBe(false);
  });

  it('wildcards anywhere else are literal characters: no "*.com", no "www.*.com", no partial-label wildcards', () => {
    expect(matchesHostname(make({ dns: ['*.com'] }).ours, 'example.com')).toBe(false);
    expect(matchesHostname(make({ dns: ['www.*.com'] }).ours, 'www.example.com')).toBe(false);
    expect(matchesHostname(make({ dns: ['*.*.example.com'] }).ours, 'a.b.example.com')).toBe(false);
    expect(matchesHostname(make({ dns: ['*-.example.com'] }).ours, 'a-.example.com')).toBe(false);
    // Partial wildcards: RFC 6125 allows clients to honour them, RFC 9525 forbids it; we do
    // not, where Node's checkHost does by default (partialWildcards: true).
    expect(matchesHostname(make({ dns: ['f*o.example.com'] }).ours, 'fxo.example.com')).toBe(false);
    for (const [pattern, host] of [['f*.example.com', 'foo.example.com'], ['*o.example.com', 'foo.example.com']] as const) {
      const { ours, node } = make({ dns: [pattern] });
      expect(matchesHostname(ours, host), pattern).toBe(false);
      expect(node.checkHost(host), pattern).toBeDefined();
      expect(node.checkHost(host, { partialWildcards: false }), pattern).toBeUndefined();
    }
  });

  it('the CN counts only when there is no dNSName (§6.4.4), and then every CN does', () => {
    expect(matchesHostname(make({ cn: ['localhost'] }).ours, 'localhost')).toBe(true);
    expect(matchesHostname(make({ cn: ['other', 'localhost'] }).ours, 'localhost')).toBe(true);
    expect(matchesHostname(make({ cn: ['*.example.com'] }).ours, 'a.example.com')).toBe(true);
    // An iPAddress SAN alone does not hide the CN (as in OpenSSL) ...
    expect(matchesHostname(make({ cn: ['localhost'], ip: [fromHex('7f000001')] }).ours, 'localhost')).toBe(true);
    // ... a dNSName does.
    expect(matchesHostname(make({ cn: ['localhost'], dns: ['other.example'] }).ours, 'localhost')).toBe(false);
    expect(matchesHostname(make({}).ours, 'o')).toBe(false); // O is not a CN
  });

  it('names that match nothing: empty, leading dot (OpenSSL would match subdomains), NUL', () => {
    const { ours, node } = make({ dns: ['www.example.com'] });
    expect(matchesHostname(ours, '')).toBe(false);
    expect(matchesHostname(ours, '.example.com')).toBe(false);
    expect(node.checkHost('.example.com')).toBeDefined();
    expect(matchesHostname(ours, 'www.example.com\0')).toBe(false);
    expect(matchesHostname(make({ dns: [''] }).ours, '')).toBe(false);
  });
});

describe('IP addresses (RFC 5280 §4.2.1.6)', () => {
  const { ours } = make({ dns: ['127.0.0.1'], cn: ['10.0.0.1'], ip: [fromHex('c0000201'), fromHex('20010db8000000000000000000000001')] });

  it('an IP literal matches iPAddress entries byte for byte', () => {
    for (const n of ['192.0.2.1', '2001:db8::1', '2001:DB8:0:0:0:0:0:1', '2001:0db8::0001', '2001:db8::1%eth0']) expect(certificateMatchesName(ours, n), n).toBe(true);
    expect(matchesIpAddress(ours, fromHex('c0000201'))).toBe(true);
  });

  it('never a dNSName or the CN spelled as an address, never IPv4 against IPv4-mapped IPv6', () => {
    for (const n of ['127.0.0.1', '10.0.0.1', '::ffff:192.0.2.1', '192.0.2.2', '2001:db8::2', '::']) expect(certificateMatchesName(ours, n), n).toBe(false);
    // A non-literal spelling of an address is a DNS name, and no dNSName says "192.0.2.01".
    expect(certificateMatchesName(ours, '192.0.2.01')).toBe(false);
  });
});
