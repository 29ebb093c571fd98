// Reconciles the add-ons of core/addons into the user cluster: each step's objects by
// server-side apply, in the order of ADDON_STEPS, then each step's readiness as its condition
// (NetworkReady, DNSReady, ...). It knows no add-on by name.
import type { KubernetesObject, V1Node } from '@kubernetes/client-node';
import { buildAddonSteps, type AddonAwait, type AddonObject, type AddonSpec } from '../../../core/src/addons/index.js';
import { KubeClient, applyConflictFields, daemonSetRolledOut, deploymentAvailable } from '../../../kube/src/index.js';
import type { ClusterStatus } from './cluster-status.js';
import { objectKey } from './seed-applier.js';
import { TenantApplyError } from './tenant-bootstrap.js';

export interface AddonStepState {
  step: string;
  condition: string;
  ready: boolean;
  reason: string;
  message: string;
}

const API_VERSION_OF_AWAIT: Record<'DaemonSet' | 'Deployment', string> = { DaemonSet: 'apps/v1', Deployment: 'apps/v1' };

/** Removes one `.a.b.c` field path (as a FieldManagerConflict cause names it) from a manifest copy. */
function withoutField(manifest: Record<string, unknown>, field: string): void {
  const path = field.replace(/^\./, '').split('.');
  let node: unknown = manifest;
  for (const key of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return;
    node = (node as Record<string, unknown>)[key];
  }
  const last = path[path.length - 1];
  if (node !== null && typeof node === 'object') Reflect.deleteProperty(node, last);
}

/**
 * Applies one object by its ownership policy. A `userEditable` object is applied without
 * force: the fields a user took over (their `kubectl edit`) conflict, are left to them and the
 * rest is applied again, so a user's Corefile stays while a deleted ConfigMap comes back.
 */
async function applyAddonObject(tenant: KubeClient, object: AddonObject): Promise<{ applied: KubernetesObject; keptUserFields: string[] }> {
  const manifest = object.manifest as unknown as KubernetesObject;
  if (object.ownership === 'enforced') return { applied: await tenant.apply(manifest), keptUserFields: [] };
  try {
    return { applied: await tenant.apply(manifest, { force: false }), keptUserFields: [] };
  } catch (error) {
    const fields = applyConflictFields(error);
    if (!fields) throw error;
    const trimmed = structuredClone(object.manifest) as Record<string, unknown>;
    for (const field of fields) withoutField(trimmed, field);
    return { applied: await tenant.apply(trimmed, { force: false }), keptUserFields: fields };
  }
}

/** The kubelet's Ready message while no network plugin has written its configuration. */
const NETWORK_PLUGIN_NOT_READY = 'NetworkPluginNotReady';

async function readNodesNetwork(tenant: KubeClient, waitingFor: string): Promise<{ ready: boolean; reason: string; message: string }> {
  const nodes = await tenant.objects.list<V1Node>('v1', 'Node');
  if (nodes.items.length === 0) return { ready: false, reason: 'NoNodes', message: `no node has joined yet; then ${waitingFor}` };
  const waiting = nodes.items.filter((node) =>
    (node.status?.conditions ?? []).some(
      (condition) => condition.type === 'Ready' && condition.status !== 'True' && (condition.message ?? '').includes(NETWORK_PLUGIN_NOT_READY),
    ),
  );
  if (waiting.length === 0) return { ready: true, reason: 'NodesNetworked', message: `${nodes.items.length} node(s) report a ready network` };
  return {
    ready: false,
    reason: 'NetworkPluginNotReady',
    message: `${waiting.length}/${nodes.items.length} node(s) report NetworkPluginNotReady: ${waitingFor}`,
  };
}

async function readAwaited(tenant: KubeClient, awaited: AddonAwait): Promise<{ ready: boolean; reason: string; message: string }> {
  if (awaited.readiness === 'nodesNetworkReady') return readNodesNetwork(tenant, awaited.waitingFor);
  if (awaited.readiness === 'unmet') return { ready: false, reason: awaited.reason, message: awaited.message };
  const object = await tenant.read({ apiVersion: API_VERSION_OF_AWAIT[awaited.kind], kind: awaited.kind, name: awaited.name, namespace: awaited.namespace });
  if (awaited.readiness === 'daemonSetRolledOut') {
    const state = daemonSetRolledOut(object);
    // A DaemonSet with no eligible node is trivially rolled out, but nothing is networked or tunnelled yet.
    if (state.ready && state.desired === 0) return { ready: false, reason: 'NoNodes', message: `${awaited.name}: no node to run on yet` };
    return { ready: state.ready, reason: state.ready ? 'RolledOut' : 'RollingOut', message: `${awaited.name}: ${state.message}` };
  }
  const state = deploymentAvailable(object);
  return { ready: state.ready, reason: state.ready ? 'Available' : 'NotAvailable', message: `${awaited.name}: ${state.message}` };
}

/**
 * Applies every enabled add-on, step by step, and sets each step's condition. Steps are not
 * held back by an earlier step's readiness: the objects are declarative and their pods wait for
 * the nodes and network they need, as `kubeadm init` installs CoreDNS before any network
 * plugin. `seen` holds the resourceVersions applied before, to tell a repair from a no-op.
 */
export async function reconcileAddons(adminKubeconfig: string, spec: AddonSpec, seen: Map<string, string>, status: ClusterStatus): Promise<AddonStepState[]> {
  const tenant = KubeClient.fromYaml(adminKubeconfig);
  const states: AddonStepState[] = [];
  try {
    for (const step of buildAddonSteps(spec)) {
      const changed: string[] = [];
      const kept: string[] = [];
      for (const object of step.objects) {
        let result: { applied: KubernetesObject; keptUserFields: string[] };
        try {
          result = await applyAddonObject(tenant, object);
        } catch (error) {
          throw new TenantApplyError(object.manifest, error);
        }
        const key = `addon:${objectKey(result.applied)}`;
        if (seen.get(key) !== result.applied.metadata?.resourceVersion) changed.push(`${result.applied.kind}/${result.applied.metadata?.name}`);
        seen.set(key, result.applied.metadata?.resourceVersion ?? '');
        for (const field of result.keptUserFields) kept.push(`${object.manifest.kind}/${object.manifest.metadata.name} ${field}`);
      }
      const title = step.name.charAt(0).toUpperCase() + step.name.slice(1);
      if (changed.length > 0) status.event(`Applied${title}Addons`, `applied ${changed.length} object(s) of ${step.addons.join(', ')}: ${summarise(changed)}`);
      // Reported once per change of what is kept, not on every pass.
      const keptKey = `addon-kept:${step.name}`;
      if (kept.length > 0 && seen.get(keptKey) !== kept.join(',')) status.event('AddonUserFieldsKept', `kept the user's edits of ${summarise(kept)}`);
      seen.set(keptKey, kept.join(','));

      const readings = [];
      for (const awaited of step.awaits) readings.push(await readAwaited(tenant, awaited));
      const notReady = readings.filter((reading) => !reading.ready);
      const state: AddonStepState =
        notReady.length === 0
          ? {
              step: step.name,
              condition: step.condition,
              ready: true,
              reason: readings.length === 1 ? readings[0].reason : 'Ready',
              message: readings.map((reading) => reading.message).join('; ') || `applied ${step.addons.join(', ')}`,
            }
          : {
              step: step.name,
              condition: step.condition,
              ready: false,
              reason: notReady[0].reason,
              message: notReady.map((reading) => reading.message).join('; '),
            };
      status.condition(state.condition, state.ready, state.reason, state.message);
      states.push(state);
    }
  } finally {
    tenant.close();
  }
  return states;
}

function summarise(items: readonly string[]): string {
  return `${items.slice(0, 6).join(', ')}${items.length > 6 ? ', …' : ''}`;
}
