/**
 * Inputs of the stateful targets (the DTLS endpoint, the CoAP server): a list of operations,
 * each `opcode u8 ‖ length u16 ‖ payload`. The parser is lenient (any bytes are some list:
 * a cut-off operation keeps what is there), so byte mutations stay meaningful; the operation
 * mutator inserts, deletes, duplicates, swaps and splices whole operations and mutates one
 * operation's payload with the target's own payload mutator.
 */
import { mutateBytes, type MutationContext } from './mutate.js';
import type { Rng } from './rng.js';

export interface Op {
  code: number;
  data: Uint8Array;
}

export const MAX_OPS = 32;

export function parseOps(b: Uint8Array): Op[] {
  const ops: Op[] = [];
  let at = 0;
  while (at < b.length && ops.length < MAX_OPS) {
    const code = b[at]!;
    const len = at + 3 <= b.length ? (b[at + 1]! << 8) | b[at + 2]! : 0;
    const start = Math.min(at + 3, b.length);
    const end = Math.min(start + len, b.length);
    ops.push({ code, data: b.subarray(start, end) });
    at = end;
  }
  return ops;
}

export function encodeOps(ops: readonly Op[]): Uint8Array {
  let n = 0;
  for (const o of ops) n += 3 + Math.min(o.data.length, 0xffff);
  const out = new Uint8Array(n);
  let at = 0;
  for (const o of ops) {
    const len = Math.min(o.data.length, 0xffff);
    out[at] = o.code;
    out[at + 1] = len >> 8;
    out[at + 2] = len & 0xff;
    out.set(o.data.subarray(0, len), at + 3);
    at += 3 + len;
  }
  return out;
}

/** A reader over an operation's payload that never throws: past the end it reads zeros. */
export class Cursor {
  at = 0;
  constructor(readonly b: Uint8Array) {}
  get remaining(): number {
    return Math.max(0, this.b.length - this.at);
  }
  u8(): number {
    return this.at < this.b.length ? this.b[this.at++]! : (this.at++, 0);
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  rest(): Uint8Array {
    const r = this.b.subarray(Math.min(this.at, this.b.length));
    this.at = this.b.length;
    return r;
  }
  take(n: number): Uint8Array {
    const r = this.b.subarray(Math.min(this.at, this.b.length), Math.min(this.at + n, this.b.length));
    this.at += n;
    return r;
  }
}

export interface OpsMutator {
  /** A new operation (from the target's generator). */
  newOp(rng: Rng): Op;
  /** A mutated payload for an operation (undefined: byte mutations). */
  mutatePayload?(op: Op, rng: Rng, ctx: MutationContext): Uint8Array | undefined;
}

export function mutateOps(input: Uint8Array, rng: Rng, ctx: MutationContext, m: OpsMutator): Uint8Array {
  const ops = parseOps(input).map((o) => ({ code: o.code, data: o.data }));
  const r = rng.below(10);
  if (ops.length === 0 || r === 0) {
    if (ops.length < MAX_OPS) ops.splice(rng.below(ops.length + 1), 0, m.newOp(rng));
  } else if (r === 1 && ops.length > 1) {
    ops.splice(rng.below(ops.length), 1);
  } else if (r === 2 && ops.length < MAX_OPS) {
    const i = rng.below(ops.length);
    ops.splice(i, 0, { ...ops[i]! });
  } else if (r === 3 && ops.length > 1) {
    const i = rng.below(ops.length), j = rng.below(ops.length);
    [ops[i], ops[j]] = [ops[j]!, ops[i]!];
  } else if (r === 4) {
    const other = ctx.other?.();
    if (other) {
      const theirs = parseOps(other);
      if (theirs.length > 0 && ops.length < MAX_OPS) ops.splice(rng.below(ops.length + 1), 0, rng.pick(theirs));
    }
  } else if (r === 5) {
    ops[rng.below(ops.length)]!.code = rng.below(256);
  } else {
    const i = rng.below(ops.length);
    const op = ops[i]!;
    const data = m.mutatePayload?.(op, rng, ctx) ?? mutateBytes(op.data, rng, ctx);
    ops[i] = { code: op.code, data };
  }
  return encodeOps(ops);
}
