import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { notFound } from '../../../core/src/index.js';
import { AuditRepository, OperationRepository, UnitOfWork, type OperationKind, type OperationRow, type Tx } from '../../../db/src/index.js';
import { ClusterEvents, LOGGER, QueueService } from '../../../platform/src/index.js';
import { auditBase, type Actor } from '../auth/principal.js';

/** Which job a committed change wakes: the cluster's control-plane job, or one pool's nodes job. */
export type WakeTarget = { kind: 'cluster' } | { kind: 'pool'; poolId: string };

export interface OperationRequest {
  actor: Actor;
  projectId: string;
  clusterId: string;
  /** Set for pool and node operations, whose pool job is woken; the cluster job otherwise. */
  poolId: string | null;
  kind: OperationKind;
  target: Record<string, unknown>;
  progress?: Record<string, unknown>;
  /** Open operations of this kind on the same pool are superseded by the new one (the newest request wins). */
  supersedes?: OperationKind;
  /** The desired-state change the operation converges to, written in the same transaction before the operation row. */
  change: (tx: Tx, opened: { operationId: string; now: Date }) => Promise<void>;
  event: { reason: string; message: string };
  audit: { action: string; resourceType: string; resourceId: string; details?: Record<string, unknown> };
}

/**
 * Opens operations: the desired-state change, the operation row, its timeline event and its audit
 * entry commit together, and only then are event streams told and the worker woken. A lost wake
 * is healed by the periodic resync, since the rows are the truth.
 */
@Injectable()
export class OperationsService {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly unitOfWork: UnitOfWork,
    private readonly operations: OperationRepository,
    private readonly audit: AuditRepository,
    private readonly events: ClusterEvents,
    private readonly queues: QueueService,
  ) {}

  async open(request: OperationRequest): Promise<OperationRow> {
    const { actor, projectId, clusterId, poolId } = request;
    const operationId = randomUUID();
    const now = new Date();
    await this.unitOfWork.run(async (tx) => {
      if (request.supersedes) {
        for (const open of await this.operations.listOpen({ clusterId, poolId: poolId ?? undefined, kind: request.supersedes }, tx)) {
          await this.operations.update(open.id, { status: 'superseded', message: `superseded by operation ${operationId}` }, tx);
        }
      }
      await request.change(tx, { operationId, now });
      await this.operations.insert(
        {
          id: operationId,
          project_id: projectId,
          cluster_id: clusterId,
          pool_id: poolId,
          kind: request.kind,
          status: 'pending',
          target: request.target,
          progress: request.progress ?? {},
          message: '',
          created_by: actor.principal.userId,
          updated_at: now,
        },
        tx,
      );
      await this.events.record({ clusterId, projectId, ...request.event }, tx);
      await this.audit.append({ ...auditBase(actor, projectId), ...request.audit }, tx);
    });
    await this.announce(clusterId, [poolId ? { kind: 'pool', poolId } : { kind: 'cluster' }]);
    const operation = await this.operations.find(projectId, operationId);
    if (!operation) throw notFound('operation');
    return operation;
  }

  /** After a commit that recorded events: tells the event streams, then wakes each job. */
  async announce(clusterId: string, wake: readonly WakeTarget[]): Promise<void> {
    await this.events.notify(clusterId);
    for (const target of wake) {
      try {
        if (target.kind === 'cluster') await this.queues.wakeCluster(clusterId);
        else await this.queues.wakePool(clusterId, target.poolId);
      } catch (error) {
        this.logger.warn({ err: error }, 'could not enqueue a job; the resync will pick the work up');
      }
    }
  }
}
