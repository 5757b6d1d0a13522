import { coapCommand } from './coap.js';
import { dtlsClient, dtlsServer } from './dtls.js';
import type { CommandSpec } from './flags.js';
import { lwm2mCommand } from './lwm2m.js';
import { serve } from './serve.js';
import { COAP_COMMANDS, type Method } from './specs/coap.js';
import { DTLS_CLIENT, DTLS_SERVER } from './specs/dtls.js';
import { LWM2M_BOOTSTRAP_SERVER, LWM2M_CLIENT, LWM2M_SERVER } from './specs/lwm2m.js';
import { SERVE } from './specs/serve.js';

/** A command of `coaps`: its spec, and what runs it with the words after its path. */
export interface Command {
  readonly spec: CommandSpec;
  run(argv: string[]): Promise<number>;
}

const coap = (m: Method): Command => ({ spec: COAP_COMMANDS[m], run: (argv) => coapCommand(m, argv) });
const lwm2m = (spec: CommandSpec): Command => ({ spec, run: (argv) => lwm2mCommand([spec.path[1]!, ...argv]) });

export const COMMANDS: readonly Command[] = [
  { spec: DTLS_SERVER, run: dtlsServer },
  { spec: DTLS_CLIENT, run: dtlsClient },
  coap('GET'),
  coap('PUT'),
  coap('POST'),
  coap('DELETE'),
  { spec: SERVE, run: serve },
  lwm2m(LWM2M_CLIENT),
  lwm2m(LWM2M_BOOTSTRAP_SERVER),
  lwm2m(LWM2M_SERVER),
];
