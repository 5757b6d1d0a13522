/**
 * Every fixed fuzz finding (bench/fuzz/regressions/<target>/*.json) replayed in its own world
 * (the stateful targets: its world seed and the inputs run before it): each runs clean now, as
 * found and as minimized. The bugs themselves have their unit tests beside the code's other
 * tests; these keep the fuzzer's own view of them.
 */
import { describe, expect, it } from 'vitest';
import { fromHex, reproduce } from '../bench/fuzz/engine.js';
import { regressions, regressionTargets } from '../bench/fuzz/regressions.js';
import { findTarget } from '../bench/fuzz/targets/index.js';

describe('fuzz regressions: fixed findings run clean', () => {
  const targets = regressionTargets();

  it('the corpus is there and each file names its target', () => {
    expect(targets).toEqual(expect.arrayContaining(['dtls-endpoint', 'lwm2m-text']));
    for (const t of targets) {
      expect(findTarget(t), t).toBeDefined();
      for (const r of regressions(t)) {
        expect(r.target, r.file).toBe(t);
        expect(r.fixed, r.file).toMatch(/\S/);
      }
    }
  });

  for (const t of targets) {
    for (const r of regressions(t)) {
      it(`${t}/${r.file}: ${r.key}`, () => {
        const target = findTarget(t)!;
        const ctx = { ...(r.worldSeed !== undefined ? { worldSeed: r.worldSeed } : {}), history: r.history ?? [] };
        expect(reproduce(target, ctx, fromHex(r.input))).toBeUndefined();
        if (r.minimized) expect(reproduce(target, ctx, fromHex(r.minimized))).toBeUndefined();
        // the stateful targets' end-of-world oracle too: a legitimate client is still served
        target.check?.();
      }, 60_000);
    }
  }
});
