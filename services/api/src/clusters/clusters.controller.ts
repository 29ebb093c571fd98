import { Body, Controller, Delete, Get, Header, HttpCode, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { DomainError, createClusterSchema, upgradeClusterSchema } from '../../../core/src/index.js';
import { ClusterRepository } from '../../../db/src/index.js';
import { ClusterEvents, ClusterEventSubscriptions } from '../../../platform/src/index.js';
import { CurrentActor, type Actor } from '../auth/principal.js';
import { ApiProblems, ApiZodBody } from '../http/openapi.js';
import { cursorParam } from '../http/query.js';
import { IdentityService } from '../identity/identity.service.js';
import { ClustersService } from './clusters.service.js';
import { presentCluster, presentEvent } from './presenters.js';

const HEARTBEAT_MS = 15_000;
const POLL_MS = 5_000;
/** How soon an open stream notices that its caller lost access (token revoked, membership gone). */
const ACCESS_CHECK_MS = 2_000;

@ApiTags('clusters')
@ApiBearerAuth()
@ApiProblems(401, 404)
@Controller('projects/:projectId')
export class ClustersController {
  constructor(
    private readonly clusters: ClustersService,
    private readonly events: ClusterEvents,
    private readonly hub: ClusterEventSubscriptions,
    private readonly repository: ClusterRepository,
    private readonly identity: IdentityService,
  ) {}

  @Post('clusters')
  @ApiOperation({ summary: 'One-click create: every field is optional, including the name' })
  @ApiZodBody(createClusterSchema)
  @ApiProblems(403, 409, 422, 503)
  create(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Body() body: unknown) {
    return this.clusters.create(actor, projectId, body);
  }

  @Get('clusters')
  async list(@CurrentActor() actor: Actor, @Param('projectId') projectId: string) {
    return { items: await this.clusters.list(actor, projectId) };
  }

  @Get('clusters/:clusterId')
  @ApiOperation({ summary: 'Cluster status: phase, conditions and endpoint' })
  get(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Param('clusterId') clusterId: string) {
    return this.clusters.get(actor, projectId, clusterId);
  }

  @Patch('clusters/:clusterId')
  @HttpCode(202)
  @ApiOperation({ summary: 'Upgrade the Kubernetes version, one minor at a time' })
  @ApiZodBody(upgradeClusterSchema)
  @ApiProblems(403, 409, 422)
  upgrade(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Param('clusterId') clusterId: string, @Body() body: unknown) {
    return this.clusters.upgrade(actor, projectId, clusterId, body);
  }

  @Delete('clusters/:clusterId')
  @HttpCode(202)
  @ApiOperation({ summary: 'Delete the cluster; answers with an operation to follow' })
  @ApiProblems(403)
  delete(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Param('clusterId') clusterId: string) {
    return this.clusters.delete(actor, projectId, clusterId);
  }

  @Get('clusters/:clusterId/events')
  @ApiOperation({ summary: 'The cluster timeline as JSON; `after` pages forward by event id' })
  async listEvents(
    @CurrentActor() actor: Actor,
    @Param('projectId') projectId: string,
    @Param('clusterId') clusterId: string,
    @Query('after') after?: unknown,
  ) {
    return { items: await this.clusters.listEvents(actor, projectId, clusterId, cursorParam('after', after) ?? 0) };
  }

  @Get('clusters/:clusterId/events/stream')
  @ApiOperation({ summary: 'The cluster timeline as Server-Sent Events (`cluster-event` and `cluster` events); honours Last-Event-ID' })
  @ApiProduces('text/event-stream')
  async stream(
    @CurrentActor() actor: Actor,
    @Param('projectId') projectId: string,
    @Param('clusterId') clusterId: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    await this.clusters.authorizeEventStream(actor, projectId, clusterId);
    // An EventSource resumes with the Last-Event-ID it was sent; a client may also ask with `after`.
    const resumeFrom = request.headers['last-event-id'];
    let lastId = typeof resumeFrom === 'string' && /^\d{1,15}$/.test(resumeFrom) ? Number(resumeFrom) : (cursorParam('after', request.query.after) ?? 0);
    let lastSnapshot = '';
    let closed = false;
    response.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    response.write('retry: 2000\n\n');

    let pending: Promise<void> = Promise.resolve();
    let accessCheckedAt = Date.now();
    // A stream is authorised once, when it opens, but may stay open for hours: access is
    // checked again before anything is sent and every few seconds, and a caller who lost it
    // gets a last `access-revoked` event and the end of the stream.
    const stillAllowed = async (): Promise<boolean> => {
      const principal = await this.identity.reauthenticate(actor.principal);
      if (!principal) return false;
      try {
        await this.clusters.authorizeEventStream({ ...actor, principal }, projectId, clusterId);
        return true;
      } catch (error) {
        if (error instanceof DomainError) return false;
        throw error;
      }
    };
    const revoke = () => {
      response.write(
        `event: access-revoked\ndata: ${JSON.stringify({ code: 'access_revoked', detail: 'this stream was closed: its token or project access is gone' })}\n\n`,
      );
      cleanup();
      response.end();
    };
    const flush = (checkAccess = false) => {
      pending = pending
        .then(async () => {
          if (closed) return;
          if (checkAccess || Date.now() - accessCheckedAt >= ACCESS_CHECK_MS) {
            accessCheckedAt = Date.now();
            if (!(await stillAllowed())) return revoke();
          }
          for (const row of await this.events.since(clusterId, lastId)) {
            response.write(`id: ${row.id}\nevent: cluster-event\ndata: ${JSON.stringify(presentEvent(row))}\n\n`);
            lastId = row.id;
          }
          const cluster = await this.repository.findById(clusterId);
          if (cluster) {
            const seedName = await this.clusters.seedName(cluster);
            const snapshot = JSON.stringify(presentCluster(cluster, seedName, await this.clusters.summaryFor(cluster, seedName)));
            if (snapshot !== lastSnapshot) {
              lastSnapshot = snapshot;
              response.write(`event: cluster\ndata: ${snapshot}\n\n`);
            }
          }
        })
        .catch(() => undefined);
    };
    const unsubscribe = await this.hub.subscribe(this.events.channel(clusterId), () => flush());
    // Polling backs up pub/sub: a notification lost with a Redis blip still shows up.
    const poll = setInterval(() => flush(), POLL_MS);
    const accessCheck = setInterval(() => flush(true), ACCESS_CHECK_MS);
    const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const cleanup = () => {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      clearInterval(accessCheck);
      clearInterval(heartbeat);
      void unsubscribe();
    };
    flush();
    request.on('close', cleanup);
  }

  @Get('clusters/:clusterId/kubeconfig')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Download a kubeconfig: admin for editors and owners, read-only for viewers' })
  @ApiProduces('application/yaml')
  @ApiProblems(409)
  async kubeconfig(
    @CurrentActor() actor: Actor,
    @Param('projectId') projectId: string,
    @Param('clusterId') clusterId: string,
    @Res() response: Response,
  ): Promise<void> {
    const { filename, content } = await this.clusters.kubeconfig(actor, projectId, clusterId);
    response.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
    response.type('application/yaml').send(content);
  }

  @Get('clusters/:clusterId/operations')
  async operations(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Param('clusterId') clusterId: string) {
    return { items: await this.clusters.listOperations(actor, projectId, clusterId) };
  }

  @Get('operations/:operationId')
  @ApiOperation({ summary: 'Follow an operation (scale, replace, delete, upgrade)' })
  operation(@CurrentActor() actor: Actor, @Param('projectId') projectId: string, @Param('operationId') operationId: string) {
    return this.clusters.getOperation(actor, projectId, operationId);
  }
}
