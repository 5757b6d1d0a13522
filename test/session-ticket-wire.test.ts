/**
 * RFC 5077 on the wire: the NewSessionTicket handshake message (§3.3) and the SessionTicket
 * extension (§3.2). Byte vectors both ways, round trips, and nothing but DecodeError on bad input.
 * (Mbed TLS's real bytes are decoded in mbedtls-resumption-transcripts.test.ts.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../lib/bytes/reader.js';
import { fromHex, toHex } from '../lib/bytes/util.js';
import { ExtensionType, HandshakeType } from '../lib/dtls/wire/constants.js';
import { decodeExtensions, encodeExtensions } from '../lib/dtls/wire/extensions.js';
import { decodeHandshakeFragments, encodeHandshake } from '../lib/dtls/wire/handshake.js';
import { decodeNewSessionTicket, encodeNewSessionTicket } from '../lib/dtls/wire/new-session-ticket.js';
import {
  clientSessionTicketExtension,
  decodeClientSessionTicket,
  decodeServerSessionTicket,
  serverSessionTicketExtension,
} from '../lib/dtls/wire/session-ticket-extension.js';
import { Reader } from '../lib/bytes/reader.js';
import { Writer } from '../lib/bytes/writer.js';
import { mutated } from './helpers/bytes.js';

describe('NewSessionTicket (RFC 5077 §3.3)', () => {
  it('handshake type 4', () => {
    expect(HandshakeType.new_session_ticket).toBe(4);
  });

  it('byte vectors both ways: a one-day hint with a 3-byte ticket, and an empty ticket', () => {
    const bytes = fromHex('00015180' + '0003' + 'a1b2c3');
    const m = decodeNewSessionTicket(bytes);
    expect(m.lifetimeHint).toBe(86400);
    expect(toHex(m.ticket)).toBe('a1b2c3');
    expect(toHex(encodeNewSessionTicket({ lifetimeHint: 86400, ticket: fromHex('a1b2c3') }))).toBe('000151800003a1b2c3');

    // RFC 5077 §3.3: a server that changed its mind sends a zero-length ticket; hint 0 = unspecified.
    expect(decodeNewSessionTicket(fromHex('000000000000'))).toEqual({ lifetimeHint: 0, ticket: new Uint8Array(0) });
    expect(toHex(encodeNewSessionTicket({ lifetimeHint: 0, ticket: new Uint8Array(0) }))).toBe('000000000000');
    // the hint is unsigned: the top bit set is 2^31 and more, not negative
    expect(decodeNewSessionTicket(fromHex('ffffffff0000')).lifetimeHint).toBe(0xffffffff);
  });

  it('inside a handshake message: header and body survive a round trip', () => {
    const body = encodeNewSessionTicket({ lifetimeHint: 7200, ticket: fromHex('00112233445566778899') });
    const msg = encodeHandshake(HandshakeType.new_session_ticket, 3, body);
    const [f] = decodeHandshakeFragments(msg);
    expect(f).toMatchObject({ msgType: 4, messageSeq: 3, fragmentOffset: 0, length: body.length });
    expect(decodeNewSessionTicket(f!.body)).toEqual({ lifetimeHint: 7200, ticket: fromHex('00112233445566778899') });
  });

  it('malformed input is a DecodeError: truncated hint, short ticket, trailing bytes', () => {
    for (const hex of ['', '000151', '00015180', '0001518000', '000151800003a1b2', '000151800001a1b2', '000151800000ff']) {
      expect(() => decodeNewSessionTicket(fromHex(hex)), hex).toThrow(DecodeError);
    }
  });

  it('refuses to encode what does not fit: a hint beyond uint32, a ticket beyond 2^16-1', () => {
    expect(() => encodeNewSessionTicket({ lifetimeHint: 2 ** 32, ticket: new Uint8Array(1) })).toThrow(RangeError);
    expect(() => encodeNewSessionTicket({ lifetimeHint: -1, ticket: new Uint8Array(1) })).toThrow(RangeError);
    expect(() => encodeNewSessionTicket({ lifetimeHint: 1, ticket: new Uint8Array(0x10000) })).toThrow(RangeError);
    expect(encodeNewSessionTicket({ lifetimeHint: 1, ticket: new Uint8Array(0xffff) }).length).toBe(6 + 0xffff);
  });

  it('property: encode then decode is the identity; decode then encode gives the bytes back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ maxLength: 600 }), (lifetimeHint, ticket) => {
        const bytes = encodeNewSessionTicket({ lifetimeHint, ticket });
        const m = decodeNewSessionTicket(bytes);
        expect(m.lifetimeHint).toBe(lifetimeHint);
        expect(toHex(m.ticket)).toBe(toHex(ticket));
        expect(toHex(encodeNewSessionTicket(m))).toBe(toHex(bytes));
      }),
    );
  });

  it('property: any bytes decode or throw DecodeError, never anything else', () => {
    const valid = encodeNewSessionTicket({ lifetimeHint: 300, ticket: fromHex('0102030405060708090a') });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), mutated(valid)), (b) => {
        try {
          const m = decodeNewSessionTicket(b);
          expect(toHex(encodeNewSessionTicket(m))).toBe(toHex(b)); // what decodes is canonical
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
    );
  });
});

describe('SessionTicket extension (RFC 5077 §3.2, type 35)', () => {
  it('ClientHello: empty asks for a ticket; non-empty is the bare ticket (no inner length)', () => {
    expect(ExtensionType.session_ticket).toBe(35);
    const ask = clientSessionTicketExtension();
    expect(toHex(encodeWithExtensions([ask]))).toBe('0004' + '0023' + '0000');
    expect(decodeClientSessionTicket(ask.data)).toEqual({ kind: 'request' });

    const ticket = fromHex('deadbeef01');
    const present = clientSessionTicketExtension(ticket);
    expect(toHex(encodeWithExtensions([present]))).toBe('0009' + '0023' + '0005' + 'deadbeef01');
    const [back] = decodeExtensions(new Reader(fromHex('0009' + '0023' + '0005' + 'deadbeef01')));
    expect(back!.type).toBe(35);
    const st = decodeClientSessionTicket(back!.data);
    expect(st.kind).toBe('ticket');
    expect(st.kind === 'ticket' && toHex(st.ticket)).toBe('deadbeef01');
    // the extension keeps its own copy of the ticket
    ticket[0] = 0;
    expect(toHex(present.data)).toBe('deadbeef01');
  });

  it('ServerHello: always empty; a non-empty one is a DecodeError', () => {
    const promise = serverSessionTicketExtension();
    expect(toHex(encodeWithExtensions([promise]))).toBe('000400230000');
    expect(() => decodeServerSessionTicket(promise.data)).not.toThrow();
    expect(() => decodeServerSessionTicket(fromHex('00'))).toThrow(DecodeError);
    expect(() => decodeServerSessionTicket(fromHex('0000'))).toThrow(DecodeError);
  });

  it('a ticket too long for extension_data is refused when encoding', () => {
    expect(() => clientSessionTicketExtension(new Uint8Array(0x10000))).toThrow(RangeError);
  });

  it('property: a ticket of any length round-trips through the extension block', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (ticket) => {
        const ext = clientSessionTicketExtension(ticket);
        const [back] = decodeExtensions(new Reader(encodeWithExtensions([ext])));
        const st = decodeClientSessionTicket(back!.data);
        if (ticket.length === 0) expect(st).toEqual({ kind: 'request' });
        else expect(st.kind === 'ticket' && toHex(st.ticket)).toBe(toHex(ticket));
      }),
    );
  });
});

function encodeWithExtensions(exts: Parameters<typeof encodeExtensions>[1]): Uint8Array {
  const w = new Writer(16);
  encodeExtensions(w, exts);
  return w.finish();
}
