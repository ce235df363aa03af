import { defineConfig } from 'vitest/config';

// Unit tests: Node only, no browser, no daemon.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/unit/**/*.test.tsx'],
    environment: 'node',
  },
});
