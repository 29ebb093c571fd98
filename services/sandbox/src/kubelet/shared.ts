// Helpers the kubelet and the node agent share.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1Pod } from '@kubernetes/client-node';
import type { LocalPod } from './pod.js';
import type { RunningPod } from './kubelet.js';

const POD_TEMPLATE_HASH = 'pod-template-hash';
const STS_POD_INDEX = 'apps.kubernetes.io/pod-index';
const STS_REVISION = 'controller-revision-hash';

export function key(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? 'default'}/${name ?? ''}`;
}

export function repositoryRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(directory, 'package.json')) && existsSync(join(directory, 'services'))) return directory;
    const parent = dirname(directory);
    if (parent === directory) return process.cwd();
    directory = parent;
  }
}

export type Workload = Pick<RunningPod, 'ownerKind' | 'ownerName' | 'revision' | 'ordinal'>;

/** The workload behind a pod, by its controller reference: a ReplicaSet `<deployment>-<hash>` stands for its Deployment. */
export function workloadOf(pod: V1Pod): Workload {
  const labels = pod.metadata?.labels ?? {};
  const controller = pod.metadata?.ownerReferences?.find((reference) => reference.controller);
  const hash = labels[POD_TEMPLATE_HASH];
  const index = labels[STS_POD_INDEX];
  const fromDeployment = controller?.kind === 'ReplicaSet' && hash !== undefined && controller.name.endsWith(`-${hash}`);
  return {
    ownerKind: fromDeployment ? 'Deployment' : (controller?.kind ?? ''),
    ownerName: fromDeployment ? controller.name.slice(0, -(hash.length + 1)) : (controller?.name ?? ''),
    revision: hash ?? labels[STS_REVISION] ?? '',
    ordinal: controller?.kind === 'StatefulSet' && index !== undefined ? Number.parseInt(index, 10) : undefined,
  };
}

/** RunningPod of a local pod, for pods() of both modes. */
export function describePod(local: LocalPod, workload: Workload): RunningPod {
  const status = local.status();
  return {
    namespace: local.namespace,
    name: local.name,
    ip: local.ip,
    ready: local.ready,
    terminating: local.isTerminating,
    phase: status.phase ?? 'Pending',
    ...workload,
    containers: (local.object.spec?.containers ?? []).map((container) => {
      const runner = local.runners.get(container.name);
      const state = status.containerStatuses?.find((candidate) => candidate.name === container.name)?.state;
      return {
        name: container.name,
        pid: runner?.pid,
        ready: runner?.ready ?? false,
        restartCount: runner?.restartCount ?? 0,
        state: state?.running
          ? 'running'
          : state?.waiting
            ? `waiting:${state.waiting.reason}`
            : state?.terminated
              ? `terminated:${state.terminated.reason}`
              : 'unknown',
        logPath: local.logPath(container.name),
      };
    }),
  };
}
