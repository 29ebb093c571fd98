import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The chaos suite alone (`npm run chaos`): test/chaos/*.chaos.test.ts, long form unless HM_CHAOS
 * says short. The normal suite (vitest.config.ts) runs the same files in their short form.
 */
// Not mergeConfig: it would append this include to the simulated suite's instead of replacing it.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/chaos/**/*.chaos.test.ts'],
    exclude: ['**/node_modules/**'],
  },
});
