// Entry point of the standalone worker deployable (production runs api and worker apart).
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { closeGracefully, ConfigError, createLogger, loadConfig, NestPinoLogger, PlatformModule } from '../../platform/src/index.js';
import { WorkerModule } from './worker.module.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig({ HM_ROLE: 'worker', ...process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  @Module({ imports: [PlatformModule.forRoot(config, logger), WorkerModule] })
  class WorkerRootModule {}
  const app = await NestFactory.createApplicationContext(WorkerRootModule, { logger: new NestPinoLogger(logger) });
  closeGracefully(() => app.close(), config.shutdownTimeoutSeconds, logger);
  await app.init();
  logger.info({ role: 'worker' }, 'harbormaster worker running');
}

main().catch((error: unknown) => {
  process.stderr.write(`harbormaster worker failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
