import type { KubeObject } from '../contracts.js';
import { clone } from '../patch/json.js';
import { findResourceByPlural, type ResourceInfo } from '../registry/resources.js';
import { ApiError, errors } from './errors.js';
import { matchesLabelSelectorObject } from './selectors.js';
import type { ObjectStore, RequestContext } from './store.js';
import { intOrPercent } from './strategies.js';
import { nodeTopologyLabels } from './default-admission.js';

function selectorString(selector: unknown): string {
  const matchLabels = (selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels ?? {};
  return Object.entries(matchLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** autoscaling/v1 Scale view of a workload. */
export function readScale(info: ResourceInfo, object: KubeObject): Record<string, unknown> {
  const spec = object.spec as { replicas?: number; selector?: unknown };
  const status = (object.status ?? {}) as { replicas?: number };
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      uid: object.metadata.uid,
      resourceVersion: object.metadata.resourceVersion,
      creationTimestamp: object.metadata.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 0 },
    status: { replicas: status.replicas ?? 0, selector: selectorString(spec.selector) },
  };
}

export async function writeScale(
  store: ObjectStore,
  info: ResourceInfo,
  namespace: string | undefined,
  name: string,
  body: unknown,
  ctx: RequestContext,
): Promise<Record<string, unknown>> {
  const scale = (body ?? {}) as { kind?: string; metadata?: { name?: string; resourceVersion?: string }; spec?: { replicas?: unknown } };
  if (scale.kind !== undefined && scale.kind !== 'Scale') throw errors.badRequest(`kind ${scale.kind} does not match Scale`);
  const replicas = scale.spec?.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw errors.invalid('autoscaling', 'Scale', name, [
      { type: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` },
    ]);
  }
  const old = await store.read(info, namespace, name);
  const next = clone(old);
  (next.spec as { replicas?: number }).replicas = replicas;
  // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing -- an empty string means unset here too and must fall back, which `??` would not do
  next.metadata.resourceVersion = scale.metadata?.resourceVersion || old.metadata.resourceVersion;
  const updated = await store.commitUpdate(info, old, next, ctx, '');
  return readScale(info, updated);
}

function isReady(pod: KubeObject): boolean {
  const status = (pod.status ?? {}) as { phase?: string; conditions?: Array<{ type?: string; status?: string }> };
  return status.phase === 'Running' && (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

const SCALED_OWNERS: Record<string, { group: string; plural: string }> = {
  ReplicaSet: { group: 'apps', plural: 'replicasets' },
  StatefulSet: { group: 'apps', plural: 'statefulsets' },
  ReplicationController: { group: '', plural: 'replicationcontrollers' },
};

/**
 * The disruption controller's expected count: the scale of the pods' controllers, not the pods
 * that exist right now. An evicted pod's replacement may not be created yet; counting only the
 * survivors would let a second eviction through that the real apiserver refuses.
 */
async function expectedPods(store: ObjectStore, namespace: string, matching: KubeObject[]): Promise<number> {
  const owners = new Map<string, { kind: string; name: string }>();
  let unowned = 0;
  for (const pod of matching) {
    const owner = pod.metadata.ownerReferences?.find((reference) => reference.controller === true && reference.kind in SCALED_OWNERS);
    if (owner) owners.set(`${owner.kind}/${owner.name}`, { kind: owner.kind, name: owner.name });
    else unowned += 1;
  }
  let expected = unowned;
  for (const { kind, name } of owners.values()) {
    const info = SCALED_OWNERS[kind];
    const resource = findResourceByPlural(info.group, info.plural);
    const controller = resource ? await store.read(resource, namespace, name).catch(() => undefined) : undefined;
    const replicas = (controller?.spec as { replicas?: number } | undefined)?.replicas;
    expected += replicas ?? matching.filter((pod) => pod.metadata.ownerReferences?.some((reference) => reference.name === name)).length;
  }
  return expected;
}

/** The disruption controller's DeletionTimeout: a granted eviction that deleted nothing expires. */
const DISRUPTED_POD_TIMEOUT_MS = 2 * 60_000;

/**
 * policy/v1 Eviction honouring PodDisruptionBudgets (pkg/registry/core/pod/storage/eviction.go),
 * retried on a conflicting budget update as the real handler retries (RetryOnConflict).
 */
export async function evictPod(
  store: ObjectStore,
  reader: ObjectStore,
  namespace: string,
  name: string,
  body: unknown,
  ctx: RequestContext,
): Promise<Record<string, unknown>> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await evictPodOnce(store, reader, namespace, name, body, ctx);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 409 && error.reason === 'Conflict') || attempt >= 5) throw error;
    }
  }
}

async function evictPodOnce(
  store: ObjectStore,
  _reader: ObjectStore,
  namespace: string,
  name: string,
  body: unknown,
  ctx: RequestContext,
): Promise<Record<string, unknown>> {
  const eviction = (body ?? {}) as {
    kind?: string;
    metadata?: { name?: string };
    deleteOptions?: { gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string } };
  };
  if (eviction.kind !== undefined && eviction.kind !== 'Eviction') throw errors.badRequest(`kind ${eviction.kind} is not Eviction`);
  if (eviction.metadata?.name !== undefined && eviction.metadata.name !== name) throw errors.badRequest(`name in URL does not match name in Eviction object`);
  const pods = findResourceByPlural('', 'pods') as ResourceInfo;
  const pdbs = findResourceByPlural('policy', 'poddisruptionbudgets') as ResourceInfo;
  const pod = await store.read(pods, namespace, name);
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  const terminal = phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!pod.metadata.deletionTimestamp;
  const success = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
  if (!terminal) {
    const budgets = (await store.listObjects(pdbs, namespace, {})).items.filter((pdb) =>
      matchesLabelSelectorObject((pdb.spec as { selector?: unknown }).selector, pod.metadata.labels),
    );
    if (budgets.length > 1)
      throw new ApiError(500, 'InternalError', 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    if (budgets.length === 1) {
      const pdb = budgets[0];
      const spec = pdb.spec as { minAvailable?: number | string; maxUnavailable?: number | string; selector?: unknown; unhealthyPodEvictionPolicy?: string };
      const podReady = isReady(pod);
      // An unready pod: AlwaysAllow evicts it; IfHealthyBudget (the default) only while the
      // budget is met, so pods still starting cannot all be evicted from under a broken budget.
      if (!podReady && spec.unhealthyPodEvictionPolicy === 'AlwaysAllow') return deleteEvicted(store, pods, namespace, name, pod, eviction, ctx, success);
      const status = (pdb.status ?? {}) as {
        observedGeneration?: number;
        disruptionsAllowed?: number;
        currentHealthy?: number;
        desiredHealthy?: number;
        disruptedPods?: Record<string, string>;
      };
      let allowed: number;
      let healthy: number;
      let desired: number;
      if (status.observedGeneration !== undefined) {
        if (status.observedGeneration < (pdb.metadata.generation ?? 1)) {
          throw tooMany(`The disruption budget ${pdb.metadata.name} is still being processed by the server.`);
        }
        allowed = status.disruptionsAllowed ?? 0;
        healthy = status.currentHealthy ?? 0;
        desired = status.desiredHealthy ?? 0;
      } else {
        const matching = (await store.listObjects(pods, namespace, {})).items.filter(
          (p) => !p.metadata.deletionTimestamp && matchesLabelSelectorObject(spec.selector, p.metadata.labels),
        );
        // Pods an eviction was granted for in the last 2 minutes are no longer counted healthy,
        // as the disruption controller treats its disruptedPods.
        const recent = Date.now() - DISRUPTED_POD_TIMEOUT_MS;
        const disrupted = new Set(
          Object.entries(status.disruptedPods ?? {})
            .filter(([, at]) => Date.parse(at) > recent)
            .map(([pod]) => pod),
        );
        healthy = matching.filter((p) => isReady(p) && !disrupted.has(p.metadata.name ?? '')).length;
        const expected = await expectedPods(store, namespace, matching);
        desired =
          spec.maxUnavailable !== undefined
            ? expected - intOrPercent(spec.maxUnavailable, expected, true)
            : intOrPercent(spec.minAvailable ?? 1, expected, true);
        allowed = Math.max(0, healthy - desired);
      }
      if (!podReady) {
        if (healthy < desired) throw tooMany(`The disruption budget ${pdb.metadata.name} needs ${desired} healthy pods and has ${healthy} currently`);
        return deleteEvicted(store, pods, namespace, name, pod, eviction, ctx, success);
      }
      if (allowed <= 0) throw tooMany(`The disruption budget ${pdb.metadata.name} needs ${desired} healthy pods and has ${healthy} currently`);
      if (status.observedGeneration !== undefined) {
        const updated = clone(pdb);
        const nextStatus = updated.status as typeof status;
        nextStatus.disruptionsAllowed = allowed - 1;
        nextStatus.disruptedPods = { ...(nextStatus.disruptedPods ?? {}), [name]: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
        await store.commitUpdate(pdbs, pdb, updated, ctx, 'status');
      } else {
        // No disruption controller keeps this budget's status here. Recording the granted
        // disruption on it (a guarded update) makes two evictions racing on one budget, through
        // this replica or another, conflict instead of both getting through.
        const updated = clone(pdb);
        updated.status = { ...status, disruptedPods: { ...(status.disruptedPods ?? {}), [name]: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') } };
        await store.commitUpdate(pdbs, pdb, updated, ctx, 'status');
      }
    }
  }
  return deleteEvicted(store, pods, namespace, name, pod, eviction, ctx, success);
}

async function deleteEvicted(
  store: ObjectStore,
  pods: ResourceInfo,
  namespace: string,
  name: string,
  pod: KubeObject,
  eviction: { deleteOptions?: { gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string } } },
  ctx: RequestContext,
  success: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  let preconditions = eviction.deleteOptions?.preconditions;
  if (!ctx.dryRun && !pod.metadata.deletionTimestamp) {
    // addConditionAndDeletePod: the pod gets a DisruptionTarget condition before it is deleted.
    const latest = await store.read(pods, namespace, name);
    const updated = clone(latest);
    const status = (updated.status ?? {}) as { conditions?: Array<Record<string, unknown>> };
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    status.conditions = [
      ...(status.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget'),
      {
        type: 'DisruptionTarget',
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: now,
        reason: 'EvictionByEvictionAPI',
        message: 'Eviction API: evicting',
      },
    ];
    updated.status = status;
    const written = await store.commitUpdate(pods, latest, updated, ctx, 'status');
    if (preconditions?.resourceVersion) preconditions = { ...preconditions, resourceVersion: written.metadata.resourceVersion };
  }
  await store.delete(pods, namespace, name, { gracePeriodSeconds: eviction.deleteOptions?.gracePeriodSeconds, preconditions }, ctx);
  return success;
}

function tooMany(cause: string): ApiError {
  return new ApiError(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", {
    causes: [{ type: 'DisruptionBudget', message: cause }],
    retryAfterSeconds: 10,
  });
}

/** core/v1 Binding: what the scheduler posts to assign a pod to a node. */
export async function bindPod(store: ObjectStore, namespace: string, name: string, body: unknown, _ctx: RequestContext): Promise<Record<string, unknown>> {
  const binding = (body ?? {}) as {
    kind?: string;
    metadata?: { name?: string; annotations?: Record<string, string> };
    target?: { kind?: string; name?: string };
  };
  if (binding.kind !== undefined && binding.kind !== 'Binding') throw errors.badRequest(`kind ${binding.kind} is not Binding`);
  if (!name)
    throw errors.invalid('', 'Binding', '', [
      { type: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' },
    ]);
  if (binding.metadata?.name !== undefined && binding.metadata.name !== name)
    throw errors.badRequest(`the name of the object (${binding.metadata.name}) does not match the name on the URL (${name})`);
  if (!binding.target?.name) throw errors.invalid('', 'Binding', name, [{ type: 'FieldValueRequired', field: 'target.name', message: 'Required value' }]);
  if (binding.target.kind !== undefined && binding.target.kind !== 'Node' && binding.target.kind !== '') {
    throw errors.invalid('', 'Binding', name, [
      { type: 'FieldValueNotSupported', field: 'target.kind', message: `Unsupported value: "${binding.target.kind}": supported values: "Node", ""` },
    ]);
  }
  const pods = findResourceByPlural('', 'pods') as ResourceInfo;
  const pod = await store.read(pods, namespace, name);
  if (pod.metadata.deletionTimestamp) throw errors.conflict({ group: '', resource: 'pods', name }, 'pod is being deleted, cannot be assigned to a host');
  const spec = pod.spec as { nodeName?: string };
  if (spec.nodeName) throw errors.conflict({ group: '', resource: 'pods/binding', name }, `pod ${name} is already assigned to node "${spec.nodeName}"`);
  const next = clone(pod);
  (next.spec as { nodeName?: string }).nodeName = binding.target.name;
  // setPodNodeAndMetadata: the Binding's annotations are copied onto the pod.
  if (binding.metadata?.annotations && Object.keys(binding.metadata.annotations).length > 0) {
    next.metadata.annotations = { ...(next.metadata.annotations ?? {}), ...binding.metadata.annotations };
  }
  // PodTopologyLabels admission on pods/binding: the Node's topology labels go onto the pod.
  const topology = await nodeTopologyLabels(store, binding.target.name);
  if (Object.keys(topology).length > 0) next.metadata.labels = { ...(next.metadata.labels ?? {}), ...topology };
  const status = (next.status ?? {}) as { conditions?: Array<Record<string, unknown>> };
  status.conditions = [
    ...(status.conditions ?? []).filter((c) => c.type !== 'PodScheduled'),
    { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') },
  ];
  next.status = status;
  // Binding writes spec.nodeName, which a pod update may not; bypass the pod update rules.
  const key = `/registry/pods/${namespace}/${name}`;
  await store.storage.update(key, next, Number(pod.metadata.resourceVersion)).catch((error: unknown) => {
    throw error instanceof Error && error.message.includes('modified') ? errors.conflict({ group: '', resource: 'pods', name }) : error;
  });
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
}
