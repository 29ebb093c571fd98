// Entry point of the api deployable, and of the embedded all-in-one process (the default).
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { closeGracefully, ConfigError, createLogger, loadConfig } from '../../platform/src/index.js';
import { createHttpApp } from './app.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (config.role === 'worker') {
    process.stderr.write('HM_ROLE=worker runs from services/worker/src/main.ts\n');
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  const extras = config.sandbox ? [await loadSandboxModule()] : [];
  const app: INestApplication = await createHttpApp(config, logger, extras);
  closeGracefully(() => app.close(), config.shutdownTimeoutSeconds, logger);
  await app.listen(config.port, config.host);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info({ url: `http://${config.host}:${port}`, role: config.role, database: config.databaseUrl ? 'postgresql' : 'pglite', sandbox: config.sandbox }, 'harbormaster listening');
}

/** The embedded sandbox (seed and simulated clouds) is loaded only when asked for. */
async function loadSandboxModule() {
  const { EmbeddedSandboxModule } = await import('../../sandbox/src/embedded/embedded-sandbox.module.js');
  return EmbeddedSandboxModule;
}

main().catch((error: unknown) => {
  process.stderr.write(`harbormaster failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
