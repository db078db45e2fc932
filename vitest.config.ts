import { defineConfig } from 'vitest/config';

/**
 * Two tiers. `unit`: pure TypeScript, milliseconds to seconds — the edit–test loop (`npm run test:unit`).
 * `integration` (files named *.int.test.ts): the real face network, real clips cut with ffmpeg, Python and
 * the PyTorch trainer, the render CLI — minutes. `npm test` runs both, then the browser tests.
 */
export default defineConfig({
  test: {
    environment: 'node',
    testTimeout: 120_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts', 'tools/**/*.test.ts'], exclude: ['**/*.int.test.ts', '**/node_modules/**'] } },
      { extends: true, test: { name: 'integration', include: ['src/**/*.int.test.ts', 'tools/**/*.int.test.ts'] } },
    ],
  },
});
