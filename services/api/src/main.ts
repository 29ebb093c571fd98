// Entry point of the api deployable: the HTTP edge alone, over PostgreSQL (HM_ROLE unset or
// `api`). It enqueues; the worker deployable (services/worker/src/main.ts) processes. The
// all-in-one process is services/all-in-one/src/main.ts.
import 'reflect-metadata';
import { createLogger, ENTRY_FOR_ROLE, loadRoleConfig, runEntry, StartupRefused } from '../../platform/src/index.js';
import { createHttpApp, serveHttpApp } from './app.js';

runEntry('harbormaster api', async () => {
  const config = loadRoleConfig('api');
  if (config.sandbox) {
    throw new StartupRefused(
      `HM_SANDBOX=true: the sandbox runs only in the all-in-one process (node ${ENTRY_FOR_ROLE.all}); the api deployable does not carry it`,
    );
  }
  const logger = createLogger(config.logLevel);
  await serveHttpApp(await createHttpApp(config, logger), config, logger);
});
