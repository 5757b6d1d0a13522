/** Every fuzz target, in the order --help lists them. */
import type { FuzzTarget } from '../target.js';
import { COAP_TARGETS } from './coap.js';
import { ENDPOINT_TARGET } from './dtls-endpoint.js';
import { DTLS_WIRE_TARGETS } from './dtls-wire.js';
import { LINK_FORMAT_TARGET } from './link-format.js';
import { LWM2M_TARGETS } from './lwm2m.js';
import { REASSEMBLER_TARGET } from './reassembler.js';
import { X509_TARGETS } from './x509.js';

export const TARGETS: readonly FuzzTarget[] = [...DTLS_WIRE_TARGETS, REASSEMBLER_TARGET, ENDPOINT_TARGET, ...COAP_TARGETS, LINK_FORMAT_TARGET, ...LWM2M_TARGETS, ...X509_TARGETS];

export function findTarget(name: string): FuzzTarget | undefined {
  return TARGETS.find((t) => t.name === name);
}
