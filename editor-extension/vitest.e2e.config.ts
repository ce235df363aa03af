import { defineConfig } from 'vitest/config';

// Browser tests: the demo (daemon, bridge, Vite) in a real Chromium. One
// file at a time: they share one demo process and one browser.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    // The in-page engine's own tests run when the suite runs against it;
    // the daemon's death is a daemon's, so its test runs against one.
    exclude: process.env.NIB_E2E_ENGINE === 'browser' ? ['test/e2e/daemon-death.test.ts'] : ['test/e2e/browser-engine.test.ts'],
    environment: 'node',
    fileParallelism: false,
    // The real daemon on a software GPU answers in seconds, not milliseconds.
    testTimeout: process.env.NIB_E2E_SERVER === 'real' || process.env.NIB_E2E_ENGINE === 'browser' ? 300_000 : 60_000,
    // Building the real daemon with `go build` can take a while.
    hookTimeout: 300_000,
  },
});
