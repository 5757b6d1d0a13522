import { BlockwiseTransfer, type BlockwiseOptions, type BlockwiseStep } from './blockwise.js';
import type { OutgoingRequest } from './endpoint.js';
import type { CoapMessage, CoapOption } from './message.js';

export type { BlockwiseOptions } from './blockwise.js';

/** One request/response exchange (the transport's job). */
export type Exchange = (r: OutgoingRequest) => Promise<CoapMessage>;

/**
 * The promise form of {@link BlockwiseTransfer} for drivers that await each exchange: runs
 * the transfer to its final response (the whole body as payload).
 */
export async function blockwiseRequest(exchange: Exchange, r: OutgoingRequest, o: BlockwiseOptions): Promise<CoapMessage> {
  const t = new BlockwiseTransfer(r, o);
  return run(exchange, t, { request: t.start() });
}

/** Follows Block2 from a response already received (`base`: the options of the request it answers). */
export async function fetchRemainingBlocks(exchange: Exchange, r: OutgoingRequest, base: CoapOption[], first: CoapMessage, o: BlockwiseOptions): Promise<CoapMessage> {
  const { transfer, step } = BlockwiseTransfer.remainder({ ...r, options: base }, first, o);
  return run(exchange, transfer, step);
}

async function run(exchange: Exchange, t: BlockwiseTransfer, step: BlockwiseStep): Promise<CoapMessage> {
  while (step.request) step = t.next(await exchange(step.request));
  return step.response!;
}
