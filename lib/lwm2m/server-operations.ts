import type { Link } from '../coap/link-format.js';
import type { OutgoingRequest } from '../coap/endpoint.js';
import type { CoapError } from '../coap/errors.js';
import { codeText, decodeUint, getOption, OptionNumber, type CoapMessage } from '../coap/message.js';
import { decodeComposite, decodeContent } from './codec/index.js';
import type { TimedRecord } from './codec/senml.js';
import type { AgentEvent, AgentRequestOptions } from './coap-agent.js';
import { Lwm2mError } from './errors.js';
import { checkDiscoverLinks } from './link-check.js';
import { parsePath, type Lwm2mRecord, type TypeResolver } from './types.js';

export type OperationKind =
  | 'read'
  | 'write'
  | 'execute'
  | 'discover'
  | 'observe'
  | 'create'
  | 'delete'
  | 'write-attributes'
  | 'read-composite'
  | 'write-composite'
  | 'observe-composite';

/** The outcome of an operation (Read, Observe and the composite ones: records; Discover: links; Create: the new instance's location). */
export interface OperationResult {
  code: number;
  records?: Lwm2mRecord[];
  links?: Link[];
  location?: string;
}

export type OperationEvent =
  | { type: 'result'; id: number; result: OperationResult }
  | { type: 'failed'; id: number; error: Lwm2mError | CoapError | Error }
  /** A notification of observation `id` (decoded, in order). */
  | { type: 'notification'; id: number; records: Lwm2mRecord[] }
  /** Observation `id` ended (the client's error notification, a closed session, bad content). */
  | { type: 'observation-ended'; id: number; error: Error | undefined };

/** One device-management operation of the server, from its request to its result. */
export interface Operation {
  readonly id: number;
  readonly kind: OperationKind;
  readonly endpoint: string;
  readonly path: string;
  readonly method: string;
  readonly request: OutgoingRequest;
  readonly options: AgentRequestOptions;
  /** The agent's id once sent (a queue-mode client's operation waits until it listens). */
  agentId: number | undefined;
  /** Observe: the first value was delivered; later failures end the observation. */
  delivered: boolean;
}

const isObserve = (k: OperationKind) => k === 'observe' || k === 'observe-composite';
const isComposite = (k: OperationKind) => k === 'read-composite' || k === 'write-composite' || k === 'observe-composite';

function contentFormatOf(m: CoapMessage): number | undefined {
  const o = getOption(m, OptionNumber.ContentFormat);
  return o ? decodeUint(o) : undefined;
}

/**
 * The operations in flight and what their answers mean: a success decoded into records
 * (composite packs for the composite operations), links (Discover, checked strictly) or a
 * location (Create); an error code into a Lwm2mError; notifications into records, in order.
 */
export class Operations {
  private readonly byAgentId = new Map<number, Operation>();
  private readonly byId = new Map<number, Operation>();

  constructor(
    private readonly types: TypeResolver,
    private readonly log: (line: string) => void,
  ) {}

  add(op: Operation): void {
    this.byId.set(op.id, op);
  }

  get(id: number): Operation | undefined {
    return this.byId.get(id);
  }

  sent(op: Operation, agentId: number): void {
    op.agentId = agentId;
    this.byAgentId.set(agentId, op);
  }

  remove(id: number): Operation | undefined {
    const op = this.byId.get(id);
    if (!op) return undefined;
    this.byId.delete(id);
    if (op.agentId !== undefined) this.byAgentId.delete(op.agentId);
    return op;
  }

  /** Operations of `endpoint` not sent yet (its queue-mode client sleeps), oldest first. */
  queued(endpoint: string): Operation[] {
    return [...this.byId.values()].filter((o) => o.endpoint === endpoint && o.agentId === undefined);
  }

  /**
   * The agent's outcome of a request, as operation events. `agent.cancel` stops the agent's side
   * of a request or observation that ends here; `agent.isOpen` tells whether an observation
   * goes on after a notification.
   */
  outcome(e: AgentEvent, agent: { cancel(agentId: number): void; isOpen(agentId: number): boolean }): OperationEvent[] {
    const cancel = (x: number) => agent.cancel(x);
    const op = this.byAgentId.get(e.id);
    if (!op) return [];
    const id = op.id;
    if (e.type === 'error') {
      this.remove(id);
      return [op.delivered ? { type: 'observation-ended', id, error: e.error } : { type: 'failed', id, error: e.error }];
    }
    const m = e.response;
    const ok = m.code >= 0x40 && m.code < 0x60;
    if (e.type === 'notification') {
      try {
        if (!ok) throw new Lwm2mError(m.code, `the notification of ${op.path} is ${codeText(m.code)}`);
        const out: OperationEvent[] = [{ type: 'notification', id, records: this.records(op, m) }];
        if (agent.isOpen(e.id)) return out;
        this.remove(id); // a final notification (without Observe) ended it
        return [...out, { type: 'observation-ended', id, error: undefined }];
      } catch (err) {
        this.remove(id);
        cancel(e.id);
        return [{ type: 'observation-ended', id, error: err as Error }];
      }
    }
    if (!isObserve(op.kind)) this.log(`${op.method} ${op.path} on ${op.endpoint} -> ${codeText(m.code)}`);
    if (!ok) {
      this.remove(id);
      cancel(e.id);
      const what = isObserve(op.kind) ? `Observe ${op.path}` : `${op.method} ${op.path}`;
      return [{ type: 'failed', id, error: new Lwm2mError(m.code, `${what} answered ${codeText(m.code)}`) }];
    }
    try {
      const result: OperationResult = { code: m.code };
      if (op.kind === 'read' || op.kind === 'observe' || op.kind === 'read-composite' || op.kind === 'observe-composite') result.records = this.records(op, m);
      if (op.kind === 'discover') result.links = checkDiscoverLinks(m.payload, parsePath(op.path));
      if (op.kind === 'create' && m.payload.length) result.location = new TextDecoder().decode(m.payload);
      if (isObserve(op.kind) && agent.isOpen(e.id)) op.delivered = true;
      else this.remove(id);
      return [{ type: 'result', id, result }];
    } catch (err) {
      this.remove(id);
      cancel(e.id);
      return [{ type: 'failed', id, error: err as Error }];
    }
  }

  private records(op: Operation, m: CoapMessage): TimedRecord[] {
    if (isComposite(op.kind)) return decodeComposite(contentFormatOf(m), m.payload, this.types);
    return decodeContent(contentFormatOf(m), m.payload, parsePath(op.path), this.types);
  }
}
