/**
 * fast-check arbitraries as structure-aware generators inside the mutation engine: values are
 * sampled in batches (fc.sample, seeded from the engine's PRNG, so runs stay reproducible).
 */
import fc from 'fast-check';
import type { Rng } from './rng.js';

export class FcPool<T> {
  private buf: T[] = [];
  constructor(
    private readonly arb: fc.Arbitrary<T>,
    private readonly batch = 256,
  ) {}

  next(rng: Rng): T {
    if (this.buf.length === 0) this.buf = fc.sample(this.arb, { seed: rng.u32() | 0, numRuns: this.batch });
    return this.buf.pop()!;
  }
}
