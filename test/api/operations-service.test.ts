// OperationsService with recording fakes for its repositories: what commits together, and what
// happens only after the commit (event streams told first, then the job woken; a failed wake is
// logged and left to the resync).
import { describe, expect, it } from 'vitest';
import type { AuditRepository, OperationRepository, OperationRow, Tx, UnitOfWork } from '../../services/db/src/index.js';
import { createLogger, type ClusterEvents, type QueueService } from '../../services/platform/src/index.js';
import type { Actor } from '../../services/api/src/auth/principal.js';
import { OperationsService } from '../../services/api/src/operations/operations.service.js';

const actor: Actor = { principal: { userId: 'u1', email: 'ops@example.com', isAdmin: false, tokenId: 't1' }, sourceIp: '10.0.0.1', userAgent: 'test' };
const TX = { tx: true } as unknown as Tx;

function harness(options: { open?: OperationRow[]; failWake?: boolean; failChange?: boolean } = {}) {
  const log: string[] = [];
  let committed = false;
  const inserted: Array<Record<string, unknown>> = [];
  const unitOfWork = {
    run: async <T>(work: (tx: Tx) => Promise<T>): Promise<T> => {
      log.push('begin');
      const result = await work(TX);
      committed = true;
      log.push('commit');
      return result;
    },
  } as unknown as UnitOfWork;
  const inTx = (tx: Tx | undefined) => (tx === TX && !committed ? 'tx' : 'no-tx');
  const operations = {
    listOpen: async (filter: { clusterId: string; poolId?: string; kind?: string }, tx?: Tx) => {
      log.push(`listOpen ${filter.kind} pool=${filter.poolId ?? '-'} ${inTx(tx)}`);
      return options.open ?? [];
    },
    update: async (id: string, changes: { status?: string; message?: string }, tx?: Tx) =>
      void log.push(`update ${id} ${changes.status} "${changes.message}" ${inTx(tx)}`),
    insert: async (row: Record<string, unknown>, tx?: Tx) => {
      inserted.push(row);
      log.push(`insert ${String(row.kind)} ${inTx(tx)}`);
    },
    find: async (projectId: string, id: string) => {
      log.push('find');
      const row = inserted.find((candidate) => candidate.id === id);
      return row ? ({ ...row, project_id: projectId } as unknown as OperationRow) : undefined;
    },
  } as unknown as OperationRepository;
  const audit = {
    append: async (entry: { action: string; actorUserId: string }, tx?: Tx) => void log.push(`audit ${entry.action} by ${entry.actorUserId} ${inTx(tx)}`),
  } as unknown as AuditRepository;
  const events = {
    record: async (event: { reason: string }, tx?: Tx) => void log.push(`event ${event.reason} ${inTx(tx)}`),
    notify: async (clusterId: string) => void log.push(`notify ${clusterId}`),
  } as unknown as ClusterEvents;
  const queues = {
    wakeCluster: async (clusterId: string) => {
      log.push(`wakeCluster ${clusterId}`);
      if (options.failWake) throw new Error('redis is away');
      return 'queued';
    },
    wakePool: async (clusterId: string, poolId: string) => {
      log.push(`wakePool ${clusterId}/${poolId}`);
      if (options.failWake) throw new Error('redis is away');
      return 'queued';
    },
  } as unknown as QueueService;
  const service = new OperationsService(createLogger('silent'), unitOfWork, operations, audit, events, queues);
  const change = async (tx: Tx, opened: { operationId: string; now: Date }) => {
    log.push(`change ${inTx(tx)}`);
    expect(opened.operationId).toMatch(/^[0-9a-f-]{36}$/);
    if (options.failChange) throw new Error('refused');
  };
  return { service, log, inserted, change };
}

describe('OperationsService.open', () => {
  it('writes the change, the operation, its event and its audit entry in one transaction, then notifies and wakes the pool', async () => {
    const { service, log, inserted, change } = harness({ open: [{ id: 'old-1' } as OperationRow] });
    const operation = await service.open({
      actor,
      projectId: 'p1',
      clusterId: 'c1',
      poolId: 'pool-1',
      kind: 'scale',
      target: { replicas: 3, from: 1 },
      progress: { desired: 3 },
      supersedes: 'scale',
      change,
      event: { reason: 'ScalingRequested', message: 'scale requested' },
      audit: { action: 'nodepool.scale', resourceType: 'node_pool', resourceId: 'pool-1', details: { from: 1, to: 3 } },
    });
    expect(log).toEqual([
      'begin',
      'listOpen scale pool=pool-1 tx',
      `update old-1 superseded "superseded by operation ${operation.id}" tx`,
      'change tx',
      'insert scale tx',
      'event ScalingRequested tx',
      'audit nodepool.scale by u1 tx',
      'commit',
      'notify c1',
      'wakePool c1/pool-1',
      'find',
    ]);
    expect(inserted[0]).toMatchObject({
      project_id: 'p1',
      cluster_id: 'c1',
      pool_id: 'pool-1',
      kind: 'scale',
      status: 'pending',
      target: { replicas: 3, from: 1 },
      progress: { desired: 3 },
      message: '',
      created_by: 'u1',
    });
  });

  it('wakes the cluster job for a cluster operation, and keeps the operation when the wake fails', async () => {
    const { service, log, change } = harness({ failWake: true });
    const operation = await service.open({
      actor,
      projectId: 'p1',
      clusterId: 'c1',
      poolId: null,
      kind: 'delete-cluster',
      target: {},
      change,
      event: { reason: 'DeletionRequested', message: 'deletion requested' },
      audit: { action: 'cluster.delete', resourceType: 'cluster', resourceId: 'c1' },
    });
    expect(operation).toMatchObject({ kind: 'delete-cluster', progress: {} });
    expect(log.slice(log.indexOf('commit'))).toEqual(['commit', 'notify c1', 'wakeCluster c1', 'find']);
    // Nothing to supersede: no open operation is even looked up.
    expect(log.filter((line) => line.startsWith('listOpen'))).toEqual([]);
  });

  it('neither notifies nor wakes when the transaction fails', async () => {
    const { service, log, change } = harness({ failChange: true });
    await expect(
      service.open({
        actor,
        projectId: 'p1',
        clusterId: 'c1',
        poolId: 'pool-1',
        kind: 'delete-pool',
        target: {},
        change,
        event: { reason: 'NodePoolDeletionRequested', message: 'deletion requested' },
        audit: { action: 'nodepool.delete', resourceType: 'node_pool', resourceId: 'pool-1' },
      }),
    ).rejects.toThrow('refused');
    expect(log).toEqual(['begin', 'change tx']);
  });
});
