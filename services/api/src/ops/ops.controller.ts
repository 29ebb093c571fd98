import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import type { DatabaseHandle } from '../../../db/src/index.js';
import { DATABASE, Metrics, REDIS } from '../../../platform/src/index.js';
import { Public } from '../auth/principal.js';

const withTimeout = <T>(work: Promise<T>, ms: number): Promise<T> =>
  Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref())]);

@ApiExcludeController()
@Public()
@Controller()
export class OpsController {
  constructor(
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly metrics: Metrics,
  ) {}

  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }

  @Get('readyz')
  async readyz(@Res() response: Response): Promise<void> {
    const checks: Record<string, string> = {};
    await Promise.all([
      withTimeout(this.database.ping(), 2_000)
        .then(() => (checks.database = 'ok'))
        .catch((error: unknown) => (checks.database = error instanceof Error ? error.message : String(error))),
      withTimeout(this.redis.ping(), 2_000)
        .then(() => (checks.redis = 'ok'))
        .catch((error: unknown) => (checks.redis = error instanceof Error ? error.message : String(error))),
    ]);
    const ready = Object.values(checks).every((value) => value === 'ok');
    response.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  }

  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async metricsText(@Res() response: Response): Promise<void> {
    response.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}
