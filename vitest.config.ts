import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'interop/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // interop tests bind real peers to fixed private ports: keep files sequential.
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '.tmp/vitest.json' }]],
  },
});
