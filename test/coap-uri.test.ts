/** The authority of coap:// and coaps:// URIs (lib/coap/uri.ts, RFC 7252 §6.1/§6.2). */
import { describe, expect, it } from 'vitest';
import { coapUriAuthority } from '../lib/coap/uri.js';

describe('coapUriAuthority (RFC 7252 §6)', () => {
  it('scheme, host and port, with the default ports', () => {
    expect(coapUriAuthority('coaps://10.0.0.1:5684')).toEqual({ secure: true, host: '10.0.0.1', port: 5684 });
    expect(coapUriAuthority('coaps://10.0.0.1')).toEqual({ secure: true, host: '10.0.0.1', port: 5684 });
    expect(coapUriAuthority('coap://example.org/rd?ep=x')).toEqual({ secure: false, host: 'example.org', port: 5683 });
    expect(coapUriAuthority('coap://[::1]:61616/x')).toEqual({ secure: false, host: '::1', port: 61616 });
    expect(coapUriAuthority('COAPS://[fe80::1]')).toEqual({ secure: true, host: 'fe80::1', port: 5684 });
  });

  it('anything else is undefined', () => {
    for (const bad of ['http://10.0.0.1', 'coaps:/10.0.0.1', 'coaps://10.0.0.1:99999', 'coaps://10.0.0.1:5684x', 'coap://user@host', 'coap+tcp://h', '']) expect(coapUriAuthority(bad), bad).toBeUndefined();
  });
});
