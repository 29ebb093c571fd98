// One reconcile pass of a tenant control plane in its seed. A pass applies the steps core
// defines (controlplane/sequence.ts) in order and stops at the first one that is not ready
// yet, asking to be run again shortly instead of holding a worker slot while pods start. It
// knows no component by name: what to apply, what to await and which condition reports it come
// with each step.
import type { KubernetesObject } from '@kubernetes/client-node';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { buildFrame, resolveSpec } from '../../../core/src/controlplane/index.js';
import { PkiError } from '../../../core/src/pki/index.js';
import { canTransitionCluster, required, transitionCluster, type ClusterPhase, type SecretBox } from '../../../core/src/index.js';
import { ClusterRepository, OperationRepository, UnitOfWork, type ClusterRow } from '../../../db/src/index.js';
import { clusterKubeconfig, endpointUrl } from '../../../kube/src/index.js';
import { APP_CONFIG, ClusterEvents, LOGGER, SECRET_BOX, type AppConfig } from '../../../platform/src/index.js';
import { ClusterStatus, conditionsOf } from './cluster-status.js';
import { ControlPlaneRenderer, type RenderedControlPlane } from './control-plane-render.js';
import { addonSpecOf, controlPlaneSpecOf, endpointOf, parseEndpoint, tunnelEndpointOf } from './endpoint.js';
import { deleteSeedNamespace } from './namespace-deletion.js';
import { FIRST_WAIT_MS, PassBackoff } from './pass-backoff.js';
import { readGroup } from './readiness-readers.js';
import { SeedApplier } from './seed-applier.js';
import { SeedClients } from './seed-clients.js';
import { SeedWatches } from './seed-watches.js';
import { reconcileAddons } from './tenant-addons.js';
import { applyTenantObjects, VIEWER_CLUSTER_ROLE } from './tenant-bootstrap.js';

export { FIRST_WAIT_MS, LONGEST_WAIT_MS } from './pass-backoff.js';
export { controlPlaneSpecOf, parseEndpoint } from './endpoint.js';

/** How long to wait before looking again at something that is still changing (deletions, pools). */
export const WAIT_MS = 2_000;

export interface PassResult {
  /** Set when the pass stopped to wait; the job asks to run again after this delay. */
  requeueAfterMs?: number;
  converged: boolean;
}

@Injectable()
export class ControlPlaneSteps {
  private readonly backoff = new PassBackoff();
  private readonly applier = new SeedApplier();
  private readonly renderer: ControlPlaneRenderer;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SECRET_BOX) box: SecretBox,
    private readonly unitOfWork: UnitOfWork,
    private readonly clusters: ClusterRepository,
    private readonly operations: OperationRepository,
    private readonly events: ClusterEvents,
    private readonly seeds: SeedClients,
    private readonly watches: SeedWatches,
  ) {
    this.renderer = new ControlPlaneRenderer(box, clusters);
  }

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
    this.applier.forget(clusterId);
    this.forgetWaits(clusterId);
  }

  private forgetWaits(clusterId: string): void {
    this.backoff.forget(clusterId);
    this.renderer.forget(clusterId);
    this.applier.forgetRecent(clusterId);
  }

  /** `signal` aborts the pass between any two objects it applies (a deletion was requested). */
  async converge(cluster: ClusterRow, signal: AbortSignal = new AbortController().signal): Promise<PassResult> {
    const seed = await this.seeds.clientFor(cluster);
    const seedWatched = this.watches.follow(required(cluster.seed_id, 'seed of a cluster with a seed client'), seed);
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
        if (current !== 'Failed')
          status.event(
            'ProgressDeadlineExceeded',
            `not converged within ${this.config.progressDeadlineSeconds}s; waiting for: ${message} (${reason})`,
            'Warning',
          );
      } else {
        status.setPhase(progressPhase, converging ? reason : cluster.phase_reason);
      }
      await status.save();
      const backoff = this.backoff.nextWait(cluster, reason);
      // While the seed's watches are up, the change of a watched object wakes the cluster (see
      // seed-watches.ts); the poll then only covers a change the watches missed.
      let requeueAfterMs = onSeedObject && seedWatched ? Math.max(backoff, this.config.watchedWaitPollSeconds * 1000) : backoff;
      // A long wait still looks again just after the progress deadline, to report it on time.
      if (deadline !== undefined && Date.now() <= deadline) requeueAfterMs = Math.min(requeueAfterMs, deadline - Date.now() + FIRST_WAIT_MS);
      this.logger.debug({ clusterId: cluster.id, reason, message, requeueAfterMs }, 'control plane not ready yet');
      return { requeueAfterMs, converged: false };
    };
    const resuming = this.backoff.resumesWait(cluster);
    if (!resuming) this.forgetWaits(cluster.id);

    // The endpoint decides the apiserver certificate, so the frame (namespace and the exposing
    // Service) comes first.
    const placeholder = parseEndpoint(cluster.endpoint) ?? { host: '0.0.0.0', port: 6443 };
    const frame = buildFrame(resolveSpec(controlPlaneSpecOf(cluster, placeholder)));
    await this.applier.applyGroup(seed, cluster.id, frame.namespace, status, resuming);
    const exposure = frame.exposure as KubernetesObject;
    const [exposed] = await this.applier.applyOrReadBack(seed, cluster.id, 'expose', [exposure], resuming, [
      { kind: required(exposure.kind, 'exposure kind'), name: required(exposure.metadata?.name, 'exposure name') },
    ]);
    const endpoint = endpointOf(exposed, seed.serverUrl);
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
      controlPlane = await this.renderer.render(cluster, spec, status, resuming);
    } catch (error) {
      if (!(error instanceof PkiError)) throw error;
      status.setPhase(transitionCluster(cluster.phase as ClusterPhase, 'Failed'), `PKI: ${error.code}`);
      status.event('PKIUnusable', error.message, 'Warning');
      await status.save();
      return { converged: false };
    }
    const secrets = controlPlane.secrets;
    const adminKubeconfig = clusterKubeconfig({ clusterName: cluster.name, endpoint: url, pki: secrets.pki, role: 'admin' });

    // Secrets, network policies, then each step of the sequence, ready before the next.
    for (const group of controlPlane.groups) {
      if (group.frame) continue;
      signal.throwIfAborted();
      const applied = await this.applier.applyGroup(seed, cluster.id, group, status, resuming);
      const waiting = await readGroup(group, applied, status, { cluster, endpointUrl: url, adminKubeconfig });
      if (waiting) return wait(waiting.reason, waiting.message, waiting.onSeedObject);
    }

    // What node join needs, inside the tenant cluster.
    signal.throwIfAborted();
    const { viewerRoleAggregated } = await applyTenantObjects(spec, adminKubeconfig, secrets, this.applier.appliedPrints(cluster.id), status, signal);
    // A real controller manager aggregates `view` a few seconds after it starts; a viewer
    // kubeconfig handed out before that is refused every read.
    if (!viewerRoleAggregated)
      return wait('WaitingForRBAC', `the tenant controller manager has not aggregated the ${VIEWER_CLUSTER_ROLE} ClusterRole yet`, false);

    // Add-ons follow the control plane and come before the nodes: a pass converges (and a
    // rollout of the nodes may start) only once they are applied at this version.
    signal.throwIfAborted();
    const addonSpec = addonSpecOf(cluster, endpoint, tunnelEndpointOf(exposed, endpoint));
    const addons = await reconcileAddons(adminKubeconfig, addonSpec, this.applier.appliedPrints(cluster.id), status);
    if (converging && cluster.observed_generation > 0) {
      // During an upgrade, an add-on that was healthy before must be healthy again at the new
      // version before nodes are replaced; one that was already broken does not hold them back.
      const before = conditionsOf(cluster);
      const regressed = addons.filter((state) => !state.ready && before.some((condition) => condition.type === state.condition && condition.status === 'True'));
      if (regressed.length > 0) return wait('WaitingForAddons', regressed.map((state) => `${state.condition}: ${state.message}`).join('; '), false);
    }

    signal.throwIfAborted();
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
    return deleteSeedNamespace(await this.seeds.clientFor(cluster), cluster, this.events);
  }

  private async finishOperations(cluster: ClusterRow): Promise<void> {
    for (const operation of await this.operations.listOpen({ clusterId: cluster.id })) {
      if (operation.kind !== 'upgrade') continue;
      const target = operation.target as { version?: string };
      if (target.version === cluster.version)
        await this.operations.update(operation.id, { status: 'succeeded', message: `control plane runs ${cluster.version}` });
      else await this.operations.update(operation.id, { status: 'superseded', message: `the cluster moved on to ${cluster.version}` });
    }
    this.logger.debug({ clusterId: cluster.id }, 'control plane converged');
  }
}
