/**
 * fast-check arbitraries as structure-aware generators inside the mutation engine: values are
 * sampled in batches (fc.sample, seeded from the engine's PRNG). A batch belongs to the PRNG
 * that seeded it, so two runs with the same seed see the same values.
 */
import fc from 'fast-check';
import type { Rng } from './rng.js';

export class FcPool<T> {
  private readonly buffers = new WeakMap<Rng, T[]>();
  constructor(
    private readonly arb: fc.Arbitrary<T>,
    private readonly batch = 256,
  ) {}

  next(rng: Rng): T {
    let buf = this.buffers.get(rng);
    if (!buf || buf.length === 0) this.buffers.set(rng, (buf = fc.sample(this.arb, { seed: rng.u32() | 0, numRuns: this.batch })));
    return buf.pop()!;
  }
}
