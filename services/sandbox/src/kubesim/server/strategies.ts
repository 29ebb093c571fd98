// Per-kind behaviour of the real registries (pkg/registry/<group>/<kind>/strategy.go):
// defaults, fields reset on create, fields preserved on update, and allocations.
import type { KubeObject, UserInfo } from '../contracts.js';
import { clone, deepEqual } from '../patch/json.js';
import { ApiError, fieldError, type StatusCause } from './errors.js';
import { scalarText } from '../../text.js';

function obj(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function defaultContainers(containers: unknown): void {
  if (!Array.isArray(containers)) return;
  for (const raw of containers) {
    const c = obj(raw);
    if (typeof c.image === 'string' && c.imagePullPolicy === undefined) {
      const tag = c.image.includes('@') ? 'digest' : c.image.split('/').pop()?.split(':')[1];
      c.imagePullPolicy = tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
    }
    // ResourceRequirements is a struct without omitempty in Go: an absent one serialises as {}.
    c.resources ??= {};
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    if (Array.isArray(c.ports)) for (const p of c.ports) obj(p).protocol ??= 'TCP';
  }
}

export function defaultPodSpec(specValue: unknown): void {
  const spec = obj(specValue);
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  defaultContainers(spec.containers);
  defaultContainers(spec.initContainers);
  if (spec.serviceAccountName !== undefined) spec.serviceAccount = spec.serviceAccountName;
}

/**
 * What a Pod (not a pod template) gets on create beyond SetDefaults_PodSpec: SetDefaults_Pod
 * (enableServiceLinks) and the default admission chain: ServiceAccount (the `default`
 * account), Priority (priority 0, PreemptLowerPriority) and DefaultTolerationSeconds.
 */
export function admitPod(pod: KubeObject): void {
  const spec = obj(pod.spec);
  spec.enableServiceLinks ??= true;
  // ServiceAccount admission leaves mirror pods (the kubelet's static pods) without a service account.
  const mirror = pod.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined;
  if (!mirror && spec.serviceAccountName === undefined && spec.serviceAccount === undefined) spec.serviceAccountName = 'default';
  if (spec.serviceAccountName !== undefined) spec.serviceAccount = spec.serviceAccountName;
  if (spec.priorityClassName === undefined) spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  const tolerations = (Array.isArray(spec.tolerations) ? spec.tolerations : []) as Array<Record<string, unknown>>;
  const tolerates = (key: string) =>
    tolerations.some((t) => (t.operator === 'Exists' && t.key === undefined) || (t.key === key && (t.effect === undefined || t.effect === 'NoExecute')));
  const added = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']
    .filter((key) => !tolerates(key))
    .map((key) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }));
  if (added.length > 0) spec.tolerations = [...tolerations, ...added];
}

function intOrPercent(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.endsWith('%')) {
    const scaled = (Number(value.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
  }
  return Number(value ?? 0);
}

export { intOrPercent };

/** Defaults applied on every write (SetDefaults_* in pkg/apis/<group>/v1/defaults.go). */
export function applyDefaults(object: KubeObject): void {
  const spec = obj(object.spec);
  switch (object.kind) {
    case 'Pod': {
      defaultPodSpec(object.spec);
      const status = object.status as { conditions?: unknown[]; podIP?: string; podIPs?: unknown[] } | undefined;
      if (status) {
        // PodCondition's probe and transition times are not omitempty: null when unset.
        for (const raw of status.conditions ?? []) {
          const condition = obj(raw);
          condition.lastProbeTime ??= null;
          condition.lastTransitionTime ??= null;
        }
        // Conversion fills podIPs from podIP.
        if (status.podIP && (!status.podIPs || status.podIPs.length === 0)) status.podIPs = [{ ip: status.podIP }];
      }
      break;
    }
    case 'Deployment':
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
      defaultPodSpec(obj(spec.template).spec);
      break;
    case 'StatefulSet':
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.podManagementPolicy ??= 'OrderedReady';
      spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0, maxUnavailable: 1 } };
      spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
      defaultPodSpec(obj(spec.template).spec);
      break;
    case 'ReplicaSet':
      spec.replicas ??= 1;
      defaultPodSpec(obj(spec.template).spec);
      break;
    case 'DaemonSet':
      spec.revisionHistoryLimit ??= 10;
      spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
      defaultPodSpec(obj(spec.template).spec);
      break;
    case 'Secret':
      object.type ??= 'Opaque';
      break;
    case 'Service': {
      spec.type ??= 'ClusterIP';
      if (spec.type !== 'ExternalName') {
        spec.internalTrafficPolicy ??= 'Cluster';
      }
      spec.sessionAffinity ??= 'None';
      if (spec.clusterIP === 'None') {
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
      }
      if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
      if (Array.isArray(spec.ports)) {
        for (const raw of spec.ports) {
          const p = obj(raw);
          p.protocol ??= 'TCP';
          p.targetPort ??= p.port;
        }
      }
      break;
    }
    case 'Namespace':
      object.metadata.labels = { ...(object.metadata.labels ?? {}), 'kubernetes.io/metadata.name': object.metadata.name as string };
      break;
    case 'EndpointSlice':
      // EndpointConditions is a struct without omitempty.
      if (Array.isArray(object.endpoints)) for (const endpoint of object.endpoints) obj(endpoint).conditions ??= {};
      break;
    case 'Event':
      // metav1.Time / MicroTime zero values serialise as null, strings as "".
      object.firstTimestamp ??= null;
      object.lastTimestamp ??= null;
      object.eventTime ??= null;
      object.reportingComponent ??= '';
      object.reportingInstance ??= '';
      break;
    case 'Node': {
      const status = obj(object.status);
      object.status = status;
      status.daemonEndpoints ??= { kubeletEndpoint: { Port: 0 } };
      status.nodeInfo ??= {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: '',
        osImage: '',
        containerRuntimeVersion: '',
        kubeletVersion: '',
        kubeProxyVersion: '',
        operatingSystem: '',
        architecture: '',
      };
      if (Array.isArray(status.conditions)) {
        for (const raw of status.conditions) {
          const condition = obj(raw);
          condition.lastHeartbeatTime ??= null;
          condition.lastTransitionTime ??= null;
        }
      }
      break;
    }
  }
}

const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Secret data is []byte in Go: anything not base64 fails decoding with 400, before validation. */
export function normalizeSecret(object: KubeObject): void {
  const data = obj(object.data);
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string' || !base64.test(value)) {
      throw new ApiError(400, 'BadRequest', `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0 (data[${key}])`);
    }
  }
  if (object.stringData !== undefined) {
    const merged = { ...data };
    for (const [key, value] of Object.entries(obj(object.stringData))) merged[key] = Buffer.from(String(value)).toString('base64');
    object.data = merged;
    delete object.stringData;
  }
}

export function secretTypeErrors(object: KubeObject): StatusCause[] {
  const data = obj(object.data);
  const causes: StatusCause[] = [];
  const need = (key: string): void => {
    if (data[key] === undefined) causes.push(fieldError('FieldValueRequired', `data[${key}]`, ''));
  };
  switch (object.type) {
    case 'kubernetes.io/tls':
      need('tls.crt');
      need('tls.key');
      break;
    case 'kubernetes.io/dockerconfigjson':
      need('.dockerconfigjson');
      break;
    case 'kubernetes.io/service-account-token':
      if (!object.metadata.annotations?.['kubernetes.io/service-account.name'])
        causes.push(fieldError('FieldValueRequired', 'metadata.annotations[kubernetes.io/service-account.name]', ''));
      break;
  }
  return causes;
}

/** Fields reset on create, before validation (PrepareForCreate). */
export function prepareForCreate(object: KubeObject, user: UserInfo): void {
  switch (object.kind) {
    case 'Namespace':
      object.spec = { finalizers: ['kubernetes'] };
      object.status = { phase: 'Active' };
      break;
    case 'Pod':
      admitPod(object);
      object.status = { phase: 'Pending', qosClass: qosClass(object) };
      break;
    // Empty statuses as Go serialises them: non-omitempty counters become zeros, and the
    // schemas require them.
    case 'Deployment':
      object.status = {};
      break;
    case 'StatefulSet':
      object.status = { replicas: 0, availableReplicas: 0 };
      break;
    case 'ReplicaSet':
      object.status = { replicas: 0 };
      break;
    case 'DaemonSet':
      object.status = { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 };
      break;
    case 'PersistentVolumeClaim':
      object.status = { phase: 'Pending' };
      break;
    case 'PodDisruptionBudget':
      // The Go status struct has non-omitempty counters, so an empty status serializes as zeros.
      object.status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
      break;
    case 'Service':
      object.status = { loadBalancer: {} };
      break;
    case 'CertificateSigningRequest': {
      const spec = obj(object.spec);
      spec.username = user.username;
      if (user.uid !== undefined) spec.uid = user.uid;
      else delete spec.uid;
      spec.groups = [...user.groups];
      if (user.extra && Object.keys(user.extra).length > 0) spec.extra = clone(user.extra);
      else delete spec.extra;
      object.status = {};
      break;
    }
  }
}

function qosClass(pod: KubeObject): string {
  const containers = (obj(pod.spec).containers as Array<{ resources?: { requests?: object; limits?: object } }> | undefined) ?? [];
  const any = containers.some((c) => Object.keys(c.resources?.requests ?? {}).length > 0 || Object.keys(c.resources?.limits ?? {}).length > 0);
  if (!any) return 'BestEffort';
  const guaranteed = containers.every((c) => {
    const limits = obj(c.resources?.limits);
    const requests = { ...limits, ...obj(c.resources?.requests) };
    return limits.cpu !== undefined && limits.memory !== undefined && deepEqual(requests.cpu, limits.cpu) && deepEqual(requests.memory, limits.memory);
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/**
 * Which parts of an update a given endpoint may change. Main resources with a status
 * subresource keep the old status; /status keeps everything but status; /approval only
 * changes the Approved/Denied conditions; /finalize only spec.finalizers.
 */
export function restrictUpdate(kind: string, subresource: string, hasStatus: boolean, old: KubeObject, next: KubeObject): KubeObject {
  if (subresource === '') {
    if (kind === 'CertificateSigningRequest') return { ...next, spec: clone(old.spec), status: clone(old.status) };
    if (kind === 'Namespace') return { ...next, spec: clone(old.spec), status: clone(old.status) };
    if (hasStatus) return { ...next, status: clone(old.status) };
    return next;
  }
  if (subresource === 'status') {
    const result: KubeObject = { ...clone(old), status: clone(next.status) };
    // Status writers may touch labels and annotations (the kubelet does for pods).
    result.metadata = {
      ...result.metadata,
      labels: next.metadata.labels,
      annotations: next.metadata.annotations,
      resourceVersion: next.metadata.resourceVersion,
    };
    if (kind === 'CertificateSigningRequest') {
      const conditions = (obj(next.status).conditions as Array<{ type?: string }> | undefined) ?? [];
      const oldConditions = (obj(old.status).conditions as Array<{ type?: string }> | undefined) ?? [];
      const approval = (list: Array<{ type?: string }>) => list.filter((c) => c.type === 'Approved' || c.type === 'Denied');
      if (!deepEqual(approval(conditions), approval(oldConditions))) {
        throw new ApiError(
          422,
          'Invalid',
          `CertificateSigningRequest.certificates.k8s.io "${old.metadata.name}" is invalid: status.conditions: Forbidden: updates may not add a condition of type "Approved"`,
          {
            name: old.metadata.name,
            group: 'certificates.k8s.io',
            kind: 'CertificateSigningRequest',
            causes: [fieldError('FieldValueForbidden', 'status.conditions', 'updates may not add a condition of type "Approved"')],
          },
        );
      }
    }
    return result;
  }
  if (subresource === 'approval') {
    // The approval subresource changes only Approved/Denied conditions; any other condition type
    // added, changed or removed is Forbidden (ValidateCertificateSigningRequestApprovalUpdate).
    const others = (list: Array<Record<string, unknown>>) => list.filter((c) => c.type !== 'Approved' && c.type !== 'Denied');
    const added = others((obj(next.status).conditions as Array<Record<string, unknown>> | undefined) ?? []);
    const before = others((obj(old.status).conditions as Array<Record<string, unknown>> | undefined) ?? []);
    if (!deepEqual(added, before)) {
      const type = scalarText((added.find((c) => !before.some((b) => deepEqual(b, c))) ?? before[0])?.type ?? '');
      throw new ApiError(
        422,
        'Invalid',
        `CertificateSigningRequest.certificates.k8s.io "${old.metadata.name}" is invalid: status.conditions: Forbidden: updates may not add a condition of type "${type}"`,
        {
          name: old.metadata.name,
          group: 'certificates.k8s.io',
          kind: 'CertificateSigningRequest',
          causes: [fieldError('FieldValueForbidden', 'status.conditions', `updates may not add a condition of type "${type}"`)],
        },
      );
    }
    const conditions = ((obj(next.status).conditions as Array<Record<string, unknown>> | undefined) ?? []).map((c) => {
      const stamped = { ...c };
      const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      stamped.lastUpdateTime ??= now;
      stamped.lastTransitionTime ??= now;
      stamped.status ??= 'True';
      return stamped;
    });
    const result: KubeObject = clone(old);
    result.metadata.resourceVersion = next.metadata.resourceVersion;
    result.status = { ...obj(old.status), conditions };
    return result;
  }
  if (subresource === 'finalize') {
    const result: KubeObject = clone(old);
    result.metadata.resourceVersion = next.metadata.resourceVersion;
    result.spec = { ...obj(old.spec), finalizers: clone(obj(next.spec).finalizers ?? []) };
    return result;
  }
  return next;
}

/** Kinds whose spec changes bump metadata.generation. */
export const generationKinds = new Set([
  'Deployment',
  'StatefulSet',
  'ReplicaSet',
  'DaemonSet',
  'PodDisruptionBudget',
  'NetworkPolicy',
  'Pod',
  'EndpointSlice',
]);

/** Kinds whose every change (metadata included) bumps metadata.generation. */
export const generationOnAnyChange = new Set(['EndpointSlice']);

export function specOf(object: KubeObject): unknown {
  const copy: Record<string, unknown> = { ...object };
  delete copy.metadata;
  delete copy.status;
  delete copy.apiVersion;
  delete copy.kind;
  return copy;
}
