import type { AuthorizationDecision, Authorizer, KubeObject, ObjectReader, RequestAttributes } from '../contracts.js';

const NODES_GROUP = 'system:nodes';
const NODE_USER_PREFIX = 'system:node:';
const READ_VERBS = ['get', 'list', 'watch'];

const allow = (reason: string): AuthorizationDecision => ({ decision: 'allow', reason });
const noOpinion = (reason = ''): AuthorizationDecision => ({ decision: 'no-opinion', reason });

/** The node name a kubelet identity acts for, as nodeidentifier.NodeIdentity decides it. */
export function nodeIdentity(username: string, groups: string[]): string | undefined {
  if (!groups.includes(NODES_GROUP) || !username.startsWith(NODE_USER_PREFIX)) return undefined;
  const name = username.slice(NODE_USER_PREFIX.length);
  return name === '' ? undefined : name;
}

interface PodSpecView {
  nodeName?: string;
  serviceAccountName?: string;
  volumes?: Array<{ secret?: { secretName?: string }; configMap?: { name?: string }; persistentVolumeClaim?: { claimName?: string } }>;
  imagePullSecrets?: Array<{ name?: string }>;
  containers?: ContainerView[];
  initContainers?: ContainerView[];
}

interface ContainerView {
  env?: Array<{ valueFrom?: { secretKeyRef?: { name?: string }; configMapKeyRef?: { name?: string } } }>;
  envFrom?: Array<{ secretRef?: { name?: string }; configMapRef?: { name?: string } }>;
}

function podSpec(pod: KubeObject): PodSpecView {
  return pod.spec ?? {};
}

function podReferences(pod: KubeObject, kind: 'secret' | 'configmap' | 'pvc', name: string): boolean {
  const spec = podSpec(pod);
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  switch (kind) {
    case 'secret':
      return (
        (spec.volumes ?? []).some((volume) => volume.secret?.secretName === name) ||
        (spec.imagePullSecrets ?? []).some((secret) => secret.name === name) ||
        containers.some(
          (container) =>
            (container.env ?? []).some((env) => env.valueFrom?.secretKeyRef?.name === name) ||
            (container.envFrom ?? []).some((source) => source.secretRef?.name === name),
        )
      );
    case 'configmap':
      return (
        (spec.volumes ?? []).some((volume) => volume.configMap?.name === name) ||
        containers.some(
          (container) =>
            (container.env ?? []).some((env) => env.valueFrom?.configMapKeyRef?.name === name) ||
            (container.envFrom ?? []).some((source) => source.configMapRef?.name === name),
        )
      );
    case 'pvc':
      return (spec.volumes ?? []).some((volume) => volume.persistentVolumeClaim?.claimName === name);
  }
}

/**
 * A reduced plugin/pkg/auth/authorizer/node: kubelets get what they need for their own node
 * and the pods bound to it; everything else is "no opinion" so RBAC may still allow it.
 */
export class NodeAuthorizer implements Authorizer {
  constructor(private readonly reader: ObjectReader) {}

  async authorize(attributes: RequestAttributes): Promise<AuthorizationDecision> {
    const nodeName = nodeIdentity(attributes.user.username, attributes.user.groups);
    if (nodeName === undefined || !attributes.resourceRequest) return noOpinion();
    const { verb, apiGroup, resource, subresource, name, namespace } = attributes;
    const reason = `node '${nodeName}'`;
    if (apiGroup === '') {
      switch (resource) {
        case 'nodes':
          // AuthorizeNodeWithSelectors: a node reads only itself, and lists/watches only with a
          // metadata.name=<itself> field selector.
          if (subresource === '' && verb === 'create') return allow(reason);
          if (subresource === '' && (verb === 'list' || verb === 'watch') && (attributes.fieldSelector ?? '').split(',').includes(`metadata.name=${nodeName}`))
            return allow(reason);
          if ((subresource === '' || subresource === 'status') && ['get', 'update', 'patch'].includes(verb) && name === nodeName) return allow(reason);
          if (READ_VERBS.includes(verb)) return noOpinion(`node: ${reason} cannot read '${name}', only its own Node object`);
          return noOpinion(`${reason} cannot ${verb} node '${name}'`);
        case 'events':
          return ['create', 'update', 'patch'].includes(verb) ? allow(reason) : noOpinion();
        case 'services':
        case 'endpoints':
          return READ_VERBS.includes(verb) && subresource === '' ? allow(reason) : noOpinion();
        case 'pods':
          return this.authorizePod(nodeName, attributes);
        case 'secrets':
          return (await this.referencedByBoundPod(nodeName, namespace, 'secret', name, verb))
            ? allow(reason)
            : noOpinion(`no relationship found between node '${nodeName}' and this object`);
        case 'configmaps':
          return (await this.referencedByBoundPod(nodeName, namespace, 'configmap', name, verb))
            ? allow(reason)
            : noOpinion(`no relationship found between node '${nodeName}' and this object`);
        case 'serviceaccounts':
          // The graph's pod -> serviceaccount edge: a kubelet requests tokens for its pods' accounts.
          if (subresource !== 'token' || verb !== 'create') return noOpinion();
          return (await this.serviceAccountOfBoundPod(nodeName, namespace, name))
            ? allow(reason)
            : noOpinion(`no relationship found between node '${nodeName}' and this object`);
        case 'persistentvolumeclaims':
          return (await this.referencedByBoundPod(nodeName, namespace, 'pvc', name, verb))
            ? allow(reason)
            : noOpinion(`no relationship found between node '${nodeName}' and this object`);
        default:
          return noOpinion();
      }
    }
    if (apiGroup === 'coordination.k8s.io' && resource === 'leases' && subresource === '') {
      if (namespace !== 'kube-node-lease') return noOpinion(`can only access leases in the kube-node-lease namespace`);
      if (verb === 'create' && (name === '' || name === nodeName)) return allow(reason);
      if (['get', 'update', 'patch', 'delete'].includes(verb) && name === nodeName) return allow(reason);
      return noOpinion(`can only access node lease with the same name as the requesting node`);
    }
    if (apiGroup === 'certificates.k8s.io' && resource === 'certificatesigningrequests' && subresource === '') {
      return ['create', 'get', 'list', 'watch'].includes(verb) ? allow(reason) : noOpinion();
    }
    if (
      (apiGroup === 'authentication.k8s.io' && resource === 'tokenreviews') ||
      (apiGroup === 'authorization.k8s.io' && ['subjectaccessreviews', 'localsubjectaccessreviews'].includes(resource))
    ) {
      return verb === 'create' ? allow(reason) : noOpinion();
    }
    return noOpinion();
  }

  private async authorizePod(nodeName: string, attributes: RequestAttributes): Promise<AuthorizationDecision> {
    const { verb, subresource, namespace, name } = attributes;
    const reason = `node '${nodeName}'`;
    // Field selectors are not part of the attributes, so list/watch stays as permissive as the static node rules.
    if (subresource === '' && (verb === 'list' || verb === 'watch')) return allow(reason);
    if (subresource === '' && verb === 'create') return allow(reason);
    if (subresource === 'eviction' && verb === 'create') return allow(reason);
    if (name === '') return noOpinion();
    const pod = await this.reader.get('', 'pods', namespace, name);
    if (!pod || podSpec(pod).nodeName !== nodeName) return noOpinion(`no relationship found between node '${nodeName}' and this object`);
    if (subresource === '' && ['get', 'delete'].includes(verb)) return allow(reason);
    if (subresource === 'status' && ['get', 'update', 'patch'].includes(verb)) return allow(reason);
    return noOpinion();
  }

  private async serviceAccountOfBoundPod(nodeName: string, namespace: string, name: string): Promise<boolean> {
    if (name === '' || namespace === '') return false;
    const pods = await this.reader.list('', 'pods', namespace);
    return pods.some((pod) => podSpec(pod).nodeName === nodeName && (podSpec(pod).serviceAccountName ?? 'default') === name);
  }

  private async referencedByBoundPod(nodeName: string, namespace: string, kind: 'secret' | 'configmap' | 'pvc', name: string, verb: string): Promise<boolean> {
    // The graph authorizer only grants named reads; lists would expose unrelated objects.
    if (!['get', 'list', 'watch'].includes(verb) || name === '' || namespace === '') return false;
    const pods = await this.reader.list('', 'pods', namespace);
    return pods.some((pod) => podSpec(pod).nodeName === nodeName && podReferences(pod, kind, name));
  }
}
