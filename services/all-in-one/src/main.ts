// Entry point of the all-in-one process (HM_ROLE unset or `all`): the api and the worker in one
// process, which PGlite requires (it takes a single connection), and with HM_SANDBOX the sandbox
// seed and simulated clouds. `npm run up` runs this on the embedded defaults.
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DynamicModule } from '@nestjs/common';
import { createHttpApp, serveHttpApp } from '../../api/src/app.js';
import { createLogger, loadRoleConfig, runEntry, StartupRefused } from '../../platform/src/index.js';
import { WorkerModule } from '../../worker/src/worker.module.js';

const SANDBOX_MODULE = '../../sandbox/src/embedded/embedded-sandbox.module.js';

runEntry('harbormaster', async () => {
  const config = loadRoleConfig('all');
  // Before anything opens the database or Redis: a tree without the sandbox fails at once.
  const sandbox = config.sandbox ? [await loadSandboxModule()] : [];
  const logger = createLogger(config.logLevel);
  await serveHttpApp(await createHttpApp(config, logger, [WorkerModule, ...sandbox]), config, logger);
});

/**
 * The production build (`node scripts/build.mjs`) leaves services/sandbox out, and a production
 * install (`npm ci --omit=dev`) leaves out the packages only the sandbox uses; either way the
 * embedded default cannot run, and the message says how to get a tree that can.
 */
async function loadSandboxModule(): Promise<NonNullable<DynamicModule['imports']>[number]> {
  if (!existsSync(fileURLToPath(new URL(SANDBOX_MODULE, import.meta.url)))) {
    throw new StartupRefused(
      'HM_SANDBOX is on (it is by default without DATABASE_URL), but this build has no sandbox: it is a production build. Set HM_SANDBOX=false (and DATABASE_URL for PostgreSQL), or build the dev tree with `node scripts/build.mjs --with-sandbox`.',
    );
  }
  try {
    const { EmbeddedSandboxModule } = (await import(SANDBOX_MODULE)) as typeof import('../../sandbox/src/embedded/embedded-sandbox.module.js');
    return EmbeddedSandboxModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new StartupRefused(
        `HM_SANDBOX is on, but a module the sandbox needs is missing (its packages are devDependencies: install without --omit=dev): ${(error as Error).message}`,
      );
    }
    throw error;
  }
}
