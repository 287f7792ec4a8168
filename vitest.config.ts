import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  resolve: {
    // package.json maps #platform to dist/ by condition; tests run the TypeScript sources, so point at src/
    alias: [{ find: /^#platform$/, replacement: fileURLToPath(new URL('./src/platform/node.ts', import.meta.url)) }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
