// Entry point of the worker deployable: the BullMQ processors over PostgreSQL, no HTTP listener
// (HM_ROLE unset or `worker`). Production runs it apart from the api (services/api/src/main.ts).
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { closeGracefully, createLogger, loadRoleConfig, NestPinoLogger, PlatformModule, runEntry } from '../../platform/src/index.js';
import { WorkerModule } from './worker.module.js';

runEntry('harbormaster worker', async () => {
  const config = loadRoleConfig('worker');
  const logger = createLogger(config.logLevel);
  @Module({ imports: [PlatformModule.forRoot(config, logger), WorkerModule] })
  class WorkerRootModule {}
  const app = await NestFactory.createApplicationContext(WorkerRootModule, { logger: new NestPinoLogger(logger) });
  closeGracefully(() => app.close(), config.shutdownTimeoutSeconds, logger);
  await app.init();
  logger.info({ role: 'worker' }, 'harbormaster worker running');
});
