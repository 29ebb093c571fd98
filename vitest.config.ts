import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { scaled } from './test/support/time.js';

// SWC (not esbuild) transforms the tests, because NestJS needs emitted decorator metadata.
export default defineConfig({
  plugins: [
    swc.vite({
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        target: 'es2022',
        keepClassNames: true,
      },
    }),
  ],
  test: {
    include: ['test/**/*.test.ts'],
    // The real-binaries suite has its own config (vitest.real.config.ts); the per-fault chaos
    // files are `npm run chaos` (vitest.chaos.config.ts), test/chaos/lifecycle.test.ts is their CI form.
    exclude: ['**/node_modules/**', 'test/real/**', 'test/chaos/**/*.chaos.test.ts'],
    pool: 'forks',
    // Most files spend their time waiting on real processes (etcd, sshd, timers), not CPU; vitest's
    // default of cpus − 1 would run one file at a time on a 2-core machine.
    maxWorkers: 2,
    minWorkers: 1,
    // Quiet-machine budgets, stretched by HM_TEST_TIME_SCALE like every other deadline (test/support/time.ts).
    testTimeout: scaled(60_000),
    hookTimeout: scaled(120_000),
    reporters: ['default'],
    globalSetup: ['test/support/global-setup.ts'],
  },
});
