// One reconcile pass of a tenant control plane in its seed. A pass applies what it can in
// dependency order and stops at the first component that is not ready yet, asking to be run
// again shortly instead of holding a worker slot while pods start.
import { createHash } from 'node:crypto';
import type { KubernetesObject, V1ClusterRole } from '@kubernetes/client-node';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { buildControlPlane, etcdQuorum, pkiSpecFor, resolveSpec, type ApplyGroup, type ControlPlaneSpec, type ResolvedSpec } from '../../../core/src/controlplane/index.js';
import { buildExternalApiserverService } from '../../../core/src/controlplane/expose.js';
import { baseLabels } from '../../../core/src/controlplane/common.js';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import { buildTenantBootstrapObjects, VIEWER_CLUSTER_ROLE } from '../../../core/src/bootstrap/tenant-objects.js';
import { ensureClusterPki, PkiError } from '../../../core/src/pki/index.js';
import { canTransitionCluster, transitionCluster, type ClusterPhase, type SecretBox } from '../../../core/src/index.js';
import { ClusterRepository, OperationRepository, UnitOfWork, type ClusterRow } from '../../../db/src/index.js';
import {
  KubeClient,
  clusterKubeconfig,
  deploymentRolledOut,
  describeApiError,
  isNotFound,
  endpointUrl,
  openClusterSecrets,
  probeEndpoint,
  sealClusterSecrets,
  statefulSetQuorum,
  type ClusterSecrets,
} from '../../../kube/src/index.js';
import { APP_CONFIG, ClusterEvents, LOGGER, SECRET_BOX, type AppConfig } from '../../../platform/src/index.js';
import { ClusterStatus, CONDITION, conditionsOf } from './cluster-status.js';
import { SeedClients } from './seed-clients.js';
import { SeedWatches } from './seed-watches.js';

/** How long to wait before looking again at something that is still changing (deletions, pools). */
export const WAIT_MS = 2_000;

/**
 * Waits on the same step back off from the first to the last delay and start over when the
 * awaited step or the generation changes, so a pass per second follows a fresh step closely
 * while a thousand clusters waiting for pods do not keep the worker busy re-applying.
 */
export const FIRST_WAIT_MS = 1_000;
export const LONGEST_WAIT_MS = 8_000;

/**
 * Within this window a waiting pass of the same generation trusts what it applied itself and
 * only reads the awaited objects back; past it, or once the cluster converged, passes apply
 * everything again (drift repair).
 */
const TRUST_APPLIED_MS = 70_000;

export interface PassResult {
  /** Set when the pass stopped to wait; the job asks to run again after this delay. */
  requeueAfterMs?: number;
  converged: boolean;
}

type Workload = KubernetesObject & { spec?: { replicas?: number } };

/** Where a cluster's waits stand, for the backoff and for trusting recent applies. */
interface WaitState {
  generation: number;
  reason: string;
  waits: number;
}

/** The PKI checked and the seed objects rendered from it, reusable while nothing they depend on changed. */
interface RenderedControlPlane {
  key: string;
  checkedAt: number;
  secrets: ClusterSecrets;
  groups: ApplyGroup[];
}

/** The objects whose state a pass looks at, per apply group; a waiting pass reads only these back. */
const AWAITED_KINDS: Partial<Record<ApplyGroup['name'], readonly string[]>> = {
  etcd: ['StatefulSet'],
  apiserver: ['Deployment'],
  controllers: ['Deployment'],
};

interface RecentApply {
  digest: string;
  at: number;
  /** Fingerprint of each object as the apply returned it. */
  prints: Map<string, string>;
}

function digestOf(objects: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(objects)).digest('base64');
}

function fingerprint(object: KubernetesObject): string {
  // Status writes bump the resourceVersion of workloads; their generation moves only when
  // the spec does, which is what drift means.
  return String(object.metadata?.generation ?? object.metadata?.resourceVersion ?? '');
}

function objectKey(object: KubernetesObject): string {
  return `${object.kind}/${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

export function controlPlaneSpecOf(cluster: ClusterRow, endpoint: { host: string; port: number }): ControlPlaneSpec {
  return {
    clusterId: cluster.id,
    clusterName: cluster.name,
    version: cluster.version,
    serviceCidr: cluster.service_cidr,
    podCidr: cluster.pod_cidr,
    expose:
      cluster.expose_strategy === 'NodePort'
        ? { strategy: 'NodePort', ...(cluster.endpoint ? { nodePort: endpoint.port } : {}) }
        : { strategy: 'LoadBalancer' },
    endpoint,
    etcd: { members: cluster.etcd_replicas === 1 ? 1 : 3 },
  };
}

/** The same Namespace buildControlPlane emits first, without needing the PKI yet. */
function namespaceOf(spec: ResolvedSpec): INamespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: spec.namespace, labels: { ...baseLabels(spec), 'pod-security.kubernetes.io/enforce': 'baseline' } } };
}

export function parseEndpoint(endpoint: string | null): { host: string; port: number } | undefined {
  if (!endpoint) return undefined;
  const url = new URL(endpoint);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) };
}

@Injectable()
export class ControlPlaneSteps {
  /** What each applied object looked like after our last apply, to tell repairs from no-ops. */
  private readonly applied = new Map<string, Map<string, string>>();
  private readonly waiting = new Map<string, WaitState>();
  private readonly rendered = new Map<string, RenderedControlPlane>();
  /** Per cluster and apply group: what content this worker last applied successfully, and when. */
  private readonly recentApplies = new Map<string, Map<string, RecentApply>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    private readonly unitOfWork: UnitOfWork,
    private readonly clusters: ClusterRepository,
    private readonly operations: OperationRepository,
    private readonly events: ClusterEvents,
    private readonly seeds: SeedClients,
    private readonly watches: SeedWatches,
  ) {}

  /** Measured from the create request, or from the open upgrade request for later generations; none without one. */
  private async progressDeadline(cluster: ClusterRow): Promise<number | undefined> {
    let startedAt = cluster.created_at;
    if (cluster.observed_generation > 0) {
      const upgrades = (await this.operations.listOpen({ clusterId: cluster.id })).filter((operation) => operation.kind === 'upgrade');
      if (upgrades.length === 0) return undefined;
      startedAt = upgrades.reduce((latest, operation) => (operation.created_at > latest ? operation.created_at : latest), upgrades[0].created_at);
    }
    return startedAt.getTime() + this.config.progressDeadlineSeconds * 1000;
  }

  forget(clusterId: string): void {
    this.applied.delete(clusterId);
    this.forgetWaits(clusterId);
  }

  private forgetWaits(clusterId: string): void {
    this.waiting.delete(clusterId);
    this.rendered.delete(clusterId);
    this.recentApplies.delete(clusterId);
  }

  /** The next delay for a wait on `reason`, doubling while the cluster keeps waiting on the same step. */
  private nextWait(cluster: ClusterRow, reason: string): number {
    const previous = this.waiting.get(cluster.id);
    const waits = previous && previous.generation === cluster.generation && previous.reason === reason ? previous.waits + 1 : 0;
    this.waiting.set(cluster.id, { generation: cluster.generation, reason, waits });
    return Math.min(FIRST_WAIT_MS * 2 ** waits, LONGEST_WAIT_MS);
  }

  /** Only a pass that follows a wait on the same generation may trust recent applies. */
  private resumesWait(cluster: ClusterRow): boolean {
    return this.waiting.get(cluster.id)?.generation === cluster.generation;
  }

  async converge(cluster: ClusterRow): Promise<PassResult> {
    const seed = await this.seeds.clientFor(cluster);
    const seedWatched = this.watches.follow(cluster.seed_id!, seed);
    const status = new ClusterStatus(cluster, this.unitOfWork, this.clusters, this.events);
    const converging = cluster.observed_generation < cluster.generation;
    const current = cluster.phase as ClusterPhase;
    const wanted: ClusterPhase = cluster.observed_generation === 0 ? 'Provisioning' : 'Updating';
    // An upgrade requested while still provisioning stays "Updating" as the API set it.
    const progressPhase: ClusterPhase = converging && canTransitionCluster(current, wanted) ? wanted : current;
    /** `onSeedObject`: what is awaited is a watched seed object's status, so its change wakes the cluster. */
    const wait = async (reason: string, message: string, onSeedObject: boolean): Promise<PassResult> => {
      const deadline = converging ? await this.progressDeadline(cluster) : undefined;
      if (deadline !== undefined && Date.now() > deadline) {
        // Failed tells the user to look; reconciling goes on, so a late recovery still reaches Running.
        status.setPhase(transitionCluster(current, 'Failed'), cluster.observed_generation === 0 ? 'ProvisioningTimedOut' : 'UpdateTimedOut');
        if (current !== 'Failed') status.event('ProgressDeadlineExceeded', `not converged within ${this.config.progressDeadlineSeconds}s; waiting for: ${message} (${reason})`, 'Warning');
      } else {
        status.setPhase(progressPhase, converging ? reason : cluster.phase_reason);
      }
      await status.save();
      const backoff = this.nextWait(cluster, reason);
      // While the seed's watches are up, the change of a watched object wakes the cluster (see
      // seed-watches.ts); the poll then only covers a change the watches missed.
      let requeueAfterMs = onSeedObject && seedWatched ? Math.max(backoff, this.config.watchedWaitPollSeconds * 1000) : backoff;
      // A long wait still looks again just after the progress deadline, to report it on time.
      if (deadline !== undefined && Date.now() <= deadline) requeueAfterMs = Math.min(requeueAfterMs, deadline - Date.now() + FIRST_WAIT_MS);
      this.logger.debug({ clusterId: cluster.id, reason, message, requeueAfterMs }, 'control plane not ready yet');
      return { requeueAfterMs, converged: false };
    };
    const resuming = this.resumesWait(cluster);
    if (!resuming) this.forgetWaits(cluster.id);

    // The endpoint decides the apiserver certificate, so the exposing Service comes first.
    const placeholder = parseEndpoint(cluster.endpoint) ?? { host: '0.0.0.0', port: 6443 };
    const bare = resolveSpec(controlPlaneSpecOf(cluster, placeholder));
    await this.applyGroup(seed, cluster, { name: 'namespace', objects: [namespaceOf(bare)] }, status, resuming);
    const [exposed] = await this.applyOrReadBack(seed, cluster, 'expose', [buildExternalApiserverService(bare) as KubernetesObject], resuming, ['Service']);
    const endpoint = this.endpointOf(exposed, seed.serverUrl);
    if (!endpoint) return wait('WaitingForEndpoint', 'the LoadBalancer has no address yet', true);
    const url = endpointUrl(endpoint.host, endpoint.port);
    if (url !== cluster.endpoint) {
      status.update({ endpoint: url });
      status.event('EndpointAssigned', `the apiserver is exposed at ${url} (${cluster.expose_strategy})`);
      cluster = { ...cluster, endpoint: url };
    }

    const spec = controlPlaneSpecOf(cluster, endpoint);
    let controlPlane: RenderedControlPlane;
    try {
      controlPlane = await this.renderControlPlane(cluster, spec, status, resuming);
    } catch (error) {
      if (!(error instanceof PkiError)) throw error;
      status.setPhase(transitionCluster(cluster.phase as ClusterPhase, 'Failed'), `PKI: ${error.code}`);
      status.event('PKIUnusable', error.message, 'Warning');
      await status.save();
      return { converged: false };
    }
    const secrets = controlPlane.secrets;
    const group = (name: ApplyGroup['name']): ApplyGroup => controlPlane.groups.find((candidate) => candidate.name === name)!;

    // 1. Secrets and network policies.
    await this.applyGroup(seed, cluster, group('config'), status, resuming);
    await this.applyGroup(seed, cluster, group('network-policies'), status, resuming);

    // 2. etcd, then quorum.
    const etcd = await this.applyGroup(seed, cluster, group('etcd'), status, resuming);
    const statefulSet = etcd.find((object) => object.kind === 'StatefulSet');
    const members = (statefulSet as Workload | undefined)?.spec?.replicas ?? 3;
    const quorum = statefulSetQuorum(statefulSet, etcdQuorum(members));
    status.condition(CONDITION.etcd, quorum.ready, quorum.ready ? 'QuorumReady' : 'QuorumNotReady', quorum.message);
    if (!quorum.ready) return wait('WaitingForEtcd', quorum.message, true);

    // 3. apiserver, rolled out and answering /readyz through the exposed endpoint.
    const apiserverObjects = await this.applyGroup(seed, cluster, group('apiserver'), status, resuming);
    const rollout = deploymentRolledOut(apiserverObjects.find((object) => object.kind === 'Deployment'));
    if (!rollout.ready) {
      status.condition(CONDITION.apiserver, false, 'RollingOut', rollout.message);
      return wait('WaitingForAPIServer', rollout.message, true);
    }
    const adminKubeconfig = clusterKubeconfig({ clusterName: cluster.name, endpoint: url, pki: secrets.pki, role: 'admin' });
    const readyz = await probeEndpoint(adminKubeconfig);
    status.condition(CONDITION.apiserver, readyz.ok, readyz.ok ? 'ReadyzOK' : 'ReadyzFailed', readyz.ok ? `${rollout.message}; /readyz ok` : `/readyz: ${readyz.error ?? `HTTP ${readyz.status}`}`);
    // Reachable belongs to the health checker and its thresholds; a pass only seeds it.
    if (readyz.ok && !conditionsOf(cluster).some((condition) => condition.type === CONDITION.reachable)) {
      status.condition(CONDITION.reachable, true, 'ReadyzOK', `GET ${url}/readyz returned 200`);
    }
    // Nothing in the seed changes when /readyz starts answering: keep polling.
    if (!readyz.ok) return wait('WaitingForAPIServer', '/readyz failed', false);

    // 4. controller-manager and scheduler, only once the apiserver of this version is healthy.
    const controllers = await this.applyGroup(seed, cluster, group('controllers'), status, resuming);
    const pending: string[] = [];
    for (const [condition, component] of [
      [CONDITION.controllerManager, 'kube-controller-manager'],
      [CONDITION.scheduler, 'kube-scheduler'],
    ] as const) {
      const deployment = controllers.find((object) => object.kind === 'Deployment' && object.metadata?.name === component);
      const state = deploymentRolledOut(deployment);
      status.condition(condition, state.ready, state.ready ? 'RolledOut' : 'RollingOut', state.message);
      if (!state.ready) pending.push(`${component}: ${state.message}`);
    }
    if (pending.length > 0) return wait('WaitingForControllers', pending.join('; '), true);

    // 5. What node join needs, inside the tenant cluster.
    const { viewerRoleAggregated } = await this.applyTenantObjects(cluster, spec, adminKubeconfig, secrets, status);
    // A real controller manager aggregates `view` a few seconds after it starts; a viewer
    // kubeconfig handed out before that is refused every read.
    if (!viewerRoleAggregated) return wait('WaitingForRBAC', `the tenant controller manager has not aggregated the ${VIEWER_CLUSTER_ROLE} ClusterRole yet`, false);

    status.setPhase(transitionCluster(cluster.phase as ClusterPhase, 'Running'), 'ControlPlaneReady');
    status.update({ observed_generation: cluster.generation });
    if (converging) status.event('ControlPlaneReady', `control plane ${cluster.version} is ready at ${url}`);
    // A pass that started from an older generation must not settle operations opened since.
    if (await status.save()) await this.finishOperations(cluster);
    this.forgetWaits(cluster.id);
    return { converged: true };
  }

  /** Deletes the seed namespace; true once it is gone. */
  async deleteNamespace(cluster: ClusterRow): Promise<boolean> {
    const seed = await this.seeds.clientFor(cluster);
    const ref = { apiVersion: 'v1', kind: 'Namespace', name: `cluster-${cluster.id}` };
    const existing = await seed.read<KubernetesObject & { status?: { phase?: string } }>(ref);
    if (!existing) return true;
    if (!existing.metadata?.deletionTimestamp) {
      await seed.delete(ref);
      await this.events.record({ clusterId: cluster.id, projectId: cluster.project_id, reason: 'NamespaceDeleting', message: `deleting seed namespace ${ref.name}` });
    }
    return false;
  }

  private endpointOf(service: KubernetesObject, seedServerUrl: string): { host: string; port: number } | undefined {
    const typed = service as KubernetesObject & {
      spec?: { type?: string; ports?: Array<{ port?: number; nodePort?: number }> };
      status?: { loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> } };
    };
    const port = typed.spec?.ports?.[0];
    if (typed.spec?.type === 'LoadBalancer') {
      const ingress = typed.status?.loadBalancer?.ingress?.[0];
      const host = ingress?.ip ?? ingress?.hostname;
      return host && port?.port ? { host, port: port.port } : undefined;
    }
    // A NodePort answers on every seed node; the seed API's host is a node address we know
    // is reachable from here.
    if (!port?.nodePort) return undefined;
    return { host: new URL(seedServerUrl).hostname.replace(/^\[|\]$/g, ''), port: port.nodePort };
  }

  /**
   * Checks the PKI and renders the seed objects, or reuses what a recent waiting pass produced
   * from the same stored secrets and spec.
   */
  private async renderControlPlane(cluster: ClusterRow, spec: ControlPlaneSpec, status: ClusterStatus, resuming: boolean): Promise<RenderedControlPlane> {
    const key = JSON.stringify([cluster.generation, cluster.sealed_secrets, spec]);
    const cached = this.rendered.get(cluster.id);
    if (resuming && cached?.key === key && Date.now() - cached.checkedAt < TRUST_APPLIED_MS) return cached;
    const { secrets, sealed } = await this.ensurePki(cluster, spec, status);
    const controlPlane: RenderedControlPlane = {
      // The next pass reads the row this one wrote.
      key: JSON.stringify([cluster.generation, sealed, spec]),
      checkedAt: Date.now(),
      secrets,
      groups: buildControlPlane(spec, secrets.pki).groups,
    };
    this.rendered.set(cluster.id, controlPlane);
    return controlPlane;
  }

  private async ensurePki(cluster: ClusterRow, spec: ControlPlaneSpec, status: ClusterStatus): Promise<{ secrets: ClusterSecrets; sealed: string | null }> {
    const stored = openClusterSecrets(this.box, cluster.id, cluster.sealed_secrets);
    const { pki, changed, reasons } = await ensureClusterPki(stored?.pki, pkiSpecFor(spec), new Date());
    const secrets: ClusterSecrets = { formatVersion: 1, pki };
    if (changed.length === 0) return { secrets, sealed: cluster.sealed_secrets };
    // Stored before anything in the seed refers to it, so a crash cannot orphan a certificate.
    const sealed = sealClusterSecrets(this.box, cluster.id, secrets);
    await this.clusters.update(cluster.id, { sealed_secrets: sealed });
    const summary = stored ? changed.map((item) => `${item} (${reasons[item]})`).join(', ') : 'CAs, service-account key and leaf certificates created';
    status.event('PKIIssued', summary);
    return { secrets, sealed };
  }

  /**
   * Applies the objects and returns them as the seed stored them, unless this worker applied
   * the same content for this waiting generation recently: then only the awaited kinds are read
   * back (the others are trusted), and the group is applied again when one of those is gone or
   * its spec moved since. Past the trust window every pass applies everything again.
   */
  private async applyOrReadBack(
    seed: KubeClient,
    cluster: ClusterRow,
    groupName: string,
    objects: KubernetesObject[],
    resuming: boolean,
    awaitedKinds: readonly string[],
  ): Promise<KubernetesObject[]> {
    const recent = this.recentApplies.get(cluster.id) ?? new Map<string, RecentApply>();
    this.recentApplies.set(cluster.id, recent);
    const digest = digestOf(objects);
    const last = recent.get(groupName);
    if (resuming && last?.digest === digest && Date.now() - last.at < TRUST_APPLIED_MS) {
      const current = await Promise.all(
        objects
          .filter((object) => awaitedKinds.includes(object.kind ?? ''))
          .map((object) => seed.read<KubernetesObject>({ apiVersion: object.apiVersion!, kind: object.kind!, name: object.metadata!.name!, namespace: object.metadata?.namespace })),
      );
      if (current.every((object): object is KubernetesObject => object !== undefined && last.prints.get(objectKey(object)) === fingerprint(object))) return current;
      // Something was deleted or changed behind our back: trust nothing else this cluster applied either.
      recent.clear();
    }
    const results = await Promise.all(objects.map((object) => seed.apply(object)));
    recent.set(groupName, { digest, at: Date.now(), prints: new Map(results.map((result) => [objectKey(result), fingerprint(result)])) });
    return results;
  }

  /** Applies a group with server-side apply and returns the objects as the seed stored them. */
  private async applyGroup(seed: KubeClient, cluster: ClusterRow, group: ApplyGroup, status: ClusterStatus, resuming: boolean): Promise<KubernetesObject[]> {
    const seen = this.applied.get(cluster.id) ?? new Map<string, string>();
    this.applied.set(cluster.id, seen);
    const results = await this.applyOrReadBack(seed, cluster, group.name, group.objects as KubernetesObject[], resuming, AWAITED_KINDS[group.name] ?? []);
    const changed: string[] = [];
    for (const result of results) {
      const key = objectKey(result);
      const print = fingerprint(result);
      if (seen.get(key) !== print) changed.push(`${result.kind}/${result.metadata?.name}`);
      seen.set(key, print);
    }
    if (changed.length > 0) status.event(`Applied${group.name.replace(/(^|-)(\w)/g, (_, __, letter: string) => letter.toUpperCase())}`, `applied ${changed.join(', ')}`);
    return results;
  }

  private async applyTenantObjects(cluster: ClusterRow, spec: ControlPlaneSpec, adminKubeconfig: string, secrets: ClusterSecrets, status: ClusterStatus): Promise<{ viewerRoleAggregated: boolean }> {
    const tenant = KubeClient.fromYaml(adminKubeconfig);
    const objects = buildTenantBootstrapObjects(spec, secrets.pki.ca.cluster.certPem);
    const seen = this.applied.get(cluster.id) ?? new Map<string, string>();
    const changed: string[] = [];
    // A pass uses the tenant client for a handful of calls; its pooled connection must not outlive it.
    try {
      for (const object of objects) {
        try {
          const result = await tenant.apply(object as KubernetesObject);
          const key = `tenant:${objectKey(result)}`;
          if (seen.get(key) !== result.metadata?.resourceVersion) changed.push(`${result.kind}/${result.metadata?.name}`);
          seen.set(key, result.metadata?.resourceVersion ?? '');
        } catch (error) {
          throw new Error(`tenant apply of ${object.kind} ${object.metadata?.name} failed: ${describeApiError(error)}`);
        }
      }
      if (changed.length > 0) status.event('AppliedTenantBootstrap', `applied ${changed.length} tenant object(s): ${changed.slice(0, 6).join(', ')}${changed.length > 6 ? ', …' : ''}`);
      const viewer = await tenant.read<V1ClusterRole>({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: VIEWER_CLUSTER_ROLE });
      return { viewerRoleAggregated: (viewer?.rules?.length ?? 0) > 0 };
    } finally {
      tenant.close();
    }
  }

  private async finishOperations(cluster: ClusterRow): Promise<void> {
    for (const operation of await this.operations.listOpen({ clusterId: cluster.id })) {
      if (operation.kind !== 'upgrade') continue;
      const target = operation.target as { version?: string };
      if (target.version === cluster.version) await this.operations.update(operation.id, { status: 'succeeded', message: `control plane runs ${cluster.version}` });
      else await this.operations.update(operation.id, { status: 'superseded', message: `the cluster moved on to ${cluster.version}` });
    }
    this.logger.debug({ clusterId: cluster.id }, 'control plane converged');
  }
}
