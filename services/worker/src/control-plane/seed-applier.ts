// Server-side apply of the seed objects, group by group, with what that needs remembered per
// cluster: what each object looked like after our last apply (to tell a repair from a no-op for
// the `Applied<Group>` events), and what was applied recently (so a waiting pass only reads the
// awaited objects back instead of applying everything again).
import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ApplyGroup } from '../../../core/src/controlplane/index.js';
import { required } from '../../../core/src/index.js';
import type { KubeClient } from '../../../kube/src/index.js';
import type { ClusterStatus } from './cluster-status.js';
import { TRUST_APPLIED_MS } from './pass-backoff.js';

/** An object a pass looks at after applying it; a waiting pass reads only these back. */
export interface ObjectRef {
  kind: string;
  name: string;
}

interface RecentApply {
  digest: string;
  at: number;
  /** Fingerprint of each object as the apply returned it. */
  prints: Map<string, string>;
}

function digestOf(objects: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(objects)).digest('base64');
}

export function fingerprint(object: KubernetesObject): string {
  // Status writes bump the resourceVersion of workloads; their generation moves only when
  // the spec does, which is what drift means.
  return String(object.metadata?.generation ?? object.metadata?.resourceVersion ?? '');
}

export function objectKey(object: KubernetesObject): string {
  return `${object.kind}/${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

function isAwaited(object: KubernetesObject, awaited: readonly ObjectRef[]): boolean {
  return awaited.some((ref) => ref.kind === object.kind && ref.name === object.metadata?.name);
}

/** `network-policies` → `NetworkPolicies`, for the `Applied<Group>` event. */
function eventName(groupName: string): string {
  return `Applied${groupName.replace(/(^|-)(\w)/g, (_, __, letter: string) => letter.toUpperCase())}`;
}

export class SeedApplier {
  /** What each applied object looked like after our last apply, to tell repairs from no-ops. */
  private readonly applied = new Map<string, Map<string, string>>();
  /** Per cluster and apply group: what content this worker last applied successfully, and when. */
  private readonly recentApplies = new Map<string, Map<string, RecentApply>>();

  /** Fingerprints by object key of what was applied for the cluster, shared with the tenant bootstrap. */
  appliedPrints(clusterId: string): Map<string, string> {
    let seen = this.applied.get(clusterId);
    if (!seen) this.applied.set(clusterId, (seen = new Map<string, string>()));
    return seen;
  }

  forget(clusterId: string): void {
    this.applied.delete(clusterId);
    this.forgetRecent(clusterId);
  }

  forgetRecent(clusterId: string): void {
    this.recentApplies.delete(clusterId);
  }

  /**
   * Applies the objects and returns them as the seed stored them, unless this worker applied
   * the same content for this waiting generation recently: then only the awaited objects are
   * read back (the others are trusted), and the group is applied again when one of those is
   * gone or its spec moved since. Past the trust window every pass applies everything again.
   */
  async applyOrReadBack(
    seed: KubeClient,
    clusterId: string,
    groupName: string,
    objects: KubernetesObject[],
    resuming: boolean,
    awaited: readonly ObjectRef[],
  ): Promise<KubernetesObject[]> {
    const recent = this.recentApplies.get(clusterId) ?? new Map<string, RecentApply>();
    this.recentApplies.set(clusterId, recent);
    const digest = digestOf(objects);
    const last = recent.get(groupName);
    if (resuming && last?.digest === digest && Date.now() - last.at < TRUST_APPLIED_MS) {
      const current = await Promise.all(
        objects
          .filter((object) => isAwaited(object, awaited))
          .map((object) =>
            seed.read<KubernetesObject>({
              apiVersion: required(object.apiVersion, 'manifest apiVersion'),
              kind: required(object.kind, 'manifest kind'),
              name: required(object.metadata?.name, 'manifest name'),
              namespace: object.metadata?.namespace,
            }),
          ),
      );
      if (current.every((object): object is KubernetesObject => object !== undefined && last.prints.get(objectKey(object)) === fingerprint(object)))
        return current;
      // Something was deleted or changed behind our back: trust nothing else this cluster applied either.
      recent.clear();
    }
    const results = await Promise.all(objects.map((object) => seed.apply(object)));
    recent.set(groupName, { digest, at: Date.now(), prints: new Map(results.map((result) => [objectKey(result), fingerprint(result)])) });
    return results;
  }

  /** Applies a group with server-side apply and returns the objects as the seed stored them. */
  async applyGroup(seed: KubeClient, clusterId: string, group: ApplyGroup, status: ClusterStatus, resuming: boolean): Promise<KubernetesObject[]> {
    const seen = this.appliedPrints(clusterId);
    const results = await this.applyOrReadBack(seed, clusterId, group.name, group.objects as KubernetesObject[], resuming, group.awaits);
    const changed: string[] = [];
    for (const result of results) {
      const key = objectKey(result);
      const print = fingerprint(result);
      if (seen.get(key) !== print) changed.push(`${result.kind}/${result.metadata?.name}`);
      seen.set(key, print);
    }
    if (changed.length > 0) status.event(eventName(group.name), `applied ${changed.join(', ')}`);
    return results;
  }
}
