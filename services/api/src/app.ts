// The HTTP application every deployable that serves the API assembles the same way: the api
// (services/api/src/main.ts) and the all-in-one process (services/all-in-one/src/main.ts), which
// adds the worker and the sandbox as extra modules. Nothing here imports them, so the api
// deployable never loads the worker.
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { closeGracefully, Metrics, NestPinoLogger, PlatformModule, QueueService, type AppConfig } from '../../platform/src/index.js';
import { ApiModule } from './api.module.js';
import { jsonBodyMiddleware } from './http/body.js';
import { problemFor, sendProblem } from './http/problem.filter.js';
import { installRequestLimits, urlLengthMiddleware } from './http/request-limits.js';
import { IdentityService } from './identity/identity.service.js';

@Module({})
class HarbormasterModule {
  static with(config: AppConfig, logger: Logger, extra: DynamicModule['imports']): DynamicModule {
    return { module: HarbormasterModule, imports: [PlatformModule.forRoot(config, logger), ...(extra ?? [])] };
  }
}

const repoRoot = join(fileURLToPath(new URL('.', import.meta.url)), '../../../..');
const portalDir = [join(repoRoot, 'dist/portal'), join(repoRoot, '../dist/portal')].find((dir) => existsSync(join(dir, 'index.html')));
const NON_PORTAL = /^\/(api|healthz|readyz|metrics|admin)(\/|$)/;

/** The API over the platform, plus `extraModules` (the all-in-one process's worker and sandbox). */
export async function createHttpApp(config: AppConfig, logger: Logger, extraModules: DynamicModule['imports'] = []): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(HarbormasterModule.with(config, logger, [ApiModule, ...(extraModules ?? [])]), {
    bodyParser: false,
    logger: new NestPinoLogger(logger),
  });
  installRequestLimits(app.getHttpServer(), (problem, error) =>
    logger.info({ status: problem.status, code: problem.code, parserError: (error as NodeJS.ErrnoException).code }, 'http request refused unparsed'),
  );
  app.set('trust proxy', 'loopback');
  app.disable('x-powered-by');
  app.use(requestLogging(logger, app.get(Metrics)));
  app.use(urlLengthMiddleware);
  app.use(jsonBodyMiddleware);
  app.setGlobalPrefix('api/v1', { exclude: ['healthz', 'readyz', 'metrics'] });

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Harbormaster API')
      .setDescription(
        'Hosted Kubernetes control planes: projects, seeds, clusters, node pools and node scaling. Errors are RFC 9457 problem+json with a machine-readable `code`.',
      )
      .setVersion('v1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API token: hm_<id>_<secret>' })
      .build(),
  );
  document.components = {
    ...document.components,
    schemas: {
      ...document.components?.schemas,
      Problem: {
        type: 'object',
        required: ['type', 'title', 'status', 'detail', 'code'],
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          code: { type: 'string', description: 'machine-readable error code' },
          instance: { type: 'string' },
          errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' }, code: { type: 'string' } } } },
        },
      },
    },
  };
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json' });

  if (config.bullBoard) await mountBullBoard(app);
  if (portalDir) {
    const portalFiles = express.static(portalDir, { index: false, maxAge: '1h' });
    // Registered before the API's routes: without the path check every API request cost a stat().
    app.use((request: Request, response: Response, next: NextFunction) => {
      if (NON_PORTAL.test(request.path)) next();
      else void portalFiles(request, response, next);
    });
    app.use((request: Request, response: Response, next: NextFunction) => {
      if (request.method !== 'GET' || NON_PORTAL.test(request.path)) {
        next();
        return;
      }
      response.setHeader('Cache-Control', 'no-cache');
      response.sendFile(join(portalDir, 'index.html'));
    });
  }
  return app;
}

/**
 * Starts listening, with graceful shutdown installed first. The "harbormaster listening" line
 * (with the URL, whose port may have been picked by PORT=0) is what tests and operators wait for.
 */
export async function serveHttpApp(app: INestApplication, config: AppConfig, logger: Logger): Promise<void> {
  closeGracefully(() => app.close(), config.shutdownTimeoutSeconds, logger);
  await app.listen(config.port, config.host);
  const address = (app.getHttpServer() as Server).address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info(
    { url: `http://${config.host}:${port}`, role: config.role, database: config.databaseUrl ? 'postgresql' : 'pglite', sandbox: config.sandbox },
    'harbormaster listening',
  );
}

function requestLogging(logger: Logger, metrics: Metrics) {
  return (request: Request, response: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    response.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
      metrics.httpRequests.observe({ method: request.method, route, status: String(response.statusCode) }, seconds);
      if (request.path !== '/healthz' && request.path !== '/metrics') {
        logger.info(
          { method: request.method, path: request.path, status: response.statusCode, ms: Math.round(seconds * 1000), ip: request.ip },
          'http request',
        );
      }
    });
    next();
  };
}

/** The optional bull-board UI, behind an admin API token. */
async function mountBullBoard(app: INestApplication): Promise<void> {
  const { createBullBoard } = await import('@bull-board/api');
  const { BullMQAdapter } = await import('@bull-board/api/bullMQAdapter');
  const { ExpressAdapter } = await import('@bull-board/express');
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/admin/queues');
  createBullBoard({ queues: app.get(QueueService).all.map((queue) => new BullMQAdapter(queue)), serverAdapter });
  const identity = app.get(IdentityService);
  app.use('/admin/queues', async (request: Request, response: Response, next: NextFunction) => {
    try {
      const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
      const principal = match ? await identity.authenticate(match[1]) : undefined;
      if (!principal?.isAdmin) {
        sendProblem(response, request, {
          ...problemFor(new Error()),
          status: principal ? 403 : 401,
          code: principal ? 'admin_required' : 'unauthenticated',
          title: 'forbidden',
          detail: 'the queue dashboard is for administrators',
        });
        return;
      }
      next();
    } catch (error) {
      sendProblem(response, request, problemFor(error));
    }
  });
  app.use('/admin/queues', serverAdapter.getRouter());
}
