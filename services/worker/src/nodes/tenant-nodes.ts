// What the node pool reconciler does inside a tenant cluster: read Nodes, cordon and drain
// them through the Eviction API, delete them, and keep the pool's bootstrap token Secret.
import { ApiException, CoreV1Api, PatchStrategy, type KubernetesObject, type V1Node, type V1Pod } from '@kubernetes/client-node';
import {
  BOOTSTRAP_TOKEN_NAMESPACE,
  bootstrapTokenSecretName,
  buildBootstrapTokenSecret,
  type BootstrapToken,
} from '../../../core/src/bootstrap/bootstrap-token.js';
import { FIELD_MANAGER, KubeClient, isNotFound } from '../../../kube/src/index.js';

export const POOL_LABEL = 'harbormaster.io/pool-id';
/** Cluster API's SkipWaitForDeleteTimeoutSeconds is 10 s; a little more patience here. */
const STUCK_TERMINATING_MS = 30_000;

export type DrainResult =
  | { done: true; evicted: number }
  /** Evictions refused (429: a PodDisruptionBudget) or still terminating; try again later. */
  | { done: false; evicted: number; blocked: string[]; terminating: number };

export function nodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false;
}

/**
 * kubectl drain leaves these alone: a DaemonSet would put its pod straight back, and a mirror pod
 * belongs to the kubelet. So does a pod that tolerates the cordon itself (cilium-operator's
 * `operator: Exists`): the scheduler would bind its replacement to the same cordoned node, and a
 * drain that evicts it would never end. It goes with the Node.
 */
function drainSkips(pod: V1Pod): boolean {
  if (pod.metadata?.annotations?.['kubernetes.io/config.mirror']) return true;
  const toleratesCordon = (pod.spec?.tolerations ?? []).some(
    (toleration) =>
      (toleration.effect === undefined || toleration.effect === '' || toleration.effect === 'NoSchedule') &&
      ((toleration.operator === 'Exists' && (toleration.key === undefined || toleration.key === '')) || toleration.key === 'node.kubernetes.io/unschedulable'),
  );
  if (toleratesCordon) return true;
  return pod.metadata?.ownerReferences?.some((owner) => owner.kind === 'DaemonSet' && owner.controller === true) ?? false;
}

export class TenantNodes {
  private readonly core: CoreV1Api;

  constructor(private readonly client: KubeClient) {
    this.core = client.config.makeApiClient(CoreV1Api);
  }

  static fromKubeconfig(kubeconfig: string): TenantNodes {
    return new TenantNodes(KubeClient.fromYaml(kubeconfig));
  }

  async listNodes(): Promise<Map<string, V1Node>> {
    const list = await this.core.listNode();
    return new Map(list.items.map((node) => [node.metadata?.name ?? '', node]));
  }

  /** Marks the Node unschedulable; false when there is no such Node. */
  async cordon(name: string): Promise<boolean> {
    try {
      const patch: KubernetesObject & { spec: { unschedulable: boolean } } = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name },
        spec: { unschedulable: true },
      };
      await this.client.objects.patch(patch, undefined, undefined, FIELD_MANAGER, undefined, PatchStrategy.MergePatch);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /**
   * One round of `kubectl drain`: asks for an eviction of every pod on the node except
   * DaemonSet and mirror pods. Evictions honour PodDisruptionBudgets: the apiserver answers
   * 429 while a budget forbids one, and the caller comes back later.
   */
  async drain(name: string): Promise<DrainResult> {
    const pods = await this.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` });
    const evictable = pods.items.filter((pod) => !drainSkips(pod));
    const blocked: string[] = [];
    let terminating = 0;
    let evicted = 0;
    for (const pod of evictable) {
      const podName = pod.metadata?.name ?? '';
      const namespace = pod.metadata?.namespace ?? 'default';
      if (pod.metadata?.deletionTimestamp) {
        // As Cluster API does: a pod its kubelet has not finished off in a while will not be
        // finished off (the kubelet is gone or stuck), and the machine goes anyway.
        if (Date.now() - new Date(pod.metadata.deletionTimestamp).getTime() < STUCK_TERMINATING_MS) terminating += 1;
        continue;
      }
      try {
        await this.core.createNamespacedPodEviction({
          name: podName,
          namespace,
          body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: podName, namespace } },
        });
        evicted += 1;
        terminating += 1;
      } catch (error) {
        if (isNotFound(error)) continue;
        if (error instanceof ApiException && error.code === 429) {
          blocked.push(`${namespace}/${podName}`);
          continue;
        }
        throw error;
      }
    }
    if (blocked.length === 0 && terminating === 0) return { done: true, evicted };
    return { done: false, evicted, blocked, terminating };
  }

  /** True when the Node was there and is now being deleted. */
  async deleteNode(name: string): Promise<boolean> {
    return this.client.delete({ apiVersion: 'v1', kind: 'Node', name });
  }

  async applyBootstrapToken(token: BootstrapToken, expiresAt: Date, poolId: string): Promise<void> {
    await this.client.apply(
      buildBootstrapTokenSecret({ token, expiresAt, labels: { [POOL_LABEL]: poolId }, description: `Harbormaster node pool ${poolId}` }) as KubernetesObject,
    );
  }

  async deleteBootstrapToken(tokenId: string): Promise<void> {
    await this.client.delete({ apiVersion: 'v1', kind: 'Secret', namespace: BOOTSTRAP_TOKEN_NAMESPACE, name: bootstrapTokenSecretName(tokenId) });
  }
}
