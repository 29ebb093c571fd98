// The RBAC registries' escalation prevention (pkg/registry/rbac): a user may only write a
// role granting permissions they hold themselves (or with the `escalate` verb), and may only
// bind a role whose permissions they hold (or with the `bind` verb). Permission coverage is
// approximated by asking the authorizer chain about every verb/resource the rules name.
import type { KubeObject, RequestAttributes, UserInfo } from '../contracts.js';
import { findResourceByPlural, type ResourceInfo } from '../registry/resources.js';
import { ApiError } from './errors.js';
import type { AdmissionCheck, ObjectStore } from './store.js';

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs?: string[];
}

type Authorize = (attributes: RequestAttributes) => Promise<{ allowed: boolean }>;

function describeRule(rule: PolicyRule): string {
  const list = (values?: string[]) => `[${(values ?? []).map((v) => JSON.stringify(v)).join(' ')}]`;
  const parts: string[] = [];
  if (rule.apiGroups) parts.push(`APIGroups:${list(rule.apiGroups)}`);
  if (rule.resources) parts.push(`Resources:${list(rule.resources)}`);
  if (rule.resourceNames) parts.push(`ResourceNames:${list(rule.resourceNames)}`);
  if (rule.nonResourceURLs) parts.push(`NonResourceURLs:${list(rule.nonResourceURLs)}`);
  parts.push(`Verbs:${list(rule.verbs)}`);
  return `{${parts.join(', ')}}`;
}

async function holdsRule(user: UserInfo, namespace: string, rule: PolicyRule, authorize: Authorize): Promise<boolean> {
  for (const verb of rule.verbs ?? []) {
    for (const path of rule.nonResourceURLs ?? []) {
      const attributes: RequestAttributes = {
        user,
        verb,
        resourceRequest: false,
        apiGroup: '',
        apiVersion: '',
        resource: '',
        subresource: '',
        namespace: '',
        name: '',
        path,
      };
      if (!(await authorize(attributes)).allowed) return false;
    }
    for (const apiGroup of rule.apiGroups ?? []) {
      for (const qualified of rule.resources ?? []) {
        const [resource, subresource = ''] = qualified.split('/');
        for (const name of rule.resourceNames?.length ? rule.resourceNames : ['']) {
          const attributes: RequestAttributes = {
            user,
            verb,
            resourceRequest: true,
            apiGroup,
            apiVersion: '*',
            resource,
            subresource,
            namespace,
            name,
            path: '',
          };
          if (!(await authorize(attributes)).allowed) return false;
        }
      }
    }
  }
  return true;
}

async function missingRules(user: UserInfo, namespace: string, rules: PolicyRule[], authorize: Authorize): Promise<PolicyRule[]> {
  const missing: PolicyRule[] = [];
  for (const rule of rules) if (!(await holdsRule(user, namespace, rule, authorize))) missing.push(rule);
  return missing;
}

function forbidden(info: ResourceInfo, object: KubeObject, message: string): ApiError {
  return new ApiError(403, 'Forbidden', `${info.plural}.${info.group} "${object.metadata.name ?? ''}" is forbidden: ${message}`, {
    name: object.metadata.name,
    group: info.group,
    kind: info.plural,
  });
}

function userText(user: UserInfo): string {
  return `user "${user.username}" (groups=[${user.groups.map((g) => JSON.stringify(g)).join(' ')}])`;
}

export function rbacEscalationCheck(store: ObjectStore, authorize: Authorize): AdmissionCheck {
  return async (info, object, old, ctx) => {
    if (info.group !== 'rbac.authorization.k8s.io') return;
    const namespace = object.metadata.namespace ?? '';
    const user = ctx.user;
    const can = async (verb: string, resource: string, name: string) =>
      (
        await authorize({
          user,
          verb,
          resourceRequest: true,
          apiGroup: info.group,
          apiVersion: info.version,
          resource,
          subresource: '',
          namespace,
          name,
          path: '',
        })
      ).allowed;
    if (info.kind === 'Role' || info.kind === 'ClusterRole') {
      const rules = (object.rules as PolicyRule[] | undefined) ?? [];
      if (old && JSON.stringify(old.rules ?? []) === JSON.stringify(rules)) return;
      if (await can('escalate', info.plural, object.metadata.name ?? '')) return;
      const missing = await missingRules(user, namespace, rules, authorize);
      if (missing.length > 0) {
        throw forbidden(info, object, `${userText(user)} is attempting to grant RBAC permissions not currently held:\n${missing.map(describeRule).join('\n')}`);
      }
      return;
    }
    if (info.kind === 'RoleBinding' || info.kind === 'ClusterRoleBinding') {
      const roleRef = (object.roleRef ?? {}) as { kind?: string; name?: string };
      if (old && JSON.stringify(old.roleRef) === JSON.stringify(object.roleRef) && JSON.stringify(old.subjects) === JSON.stringify(object.subjects)) return;
      const roleResource = roleRef.kind === 'Role' ? 'roles' : 'clusterroles';
      const bindAttributes: RequestAttributes = {
        user,
        verb: 'bind',
        resourceRequest: true,
        apiGroup: info.group,
        apiVersion: info.version,
        resource: roleResource,
        subresource: '',
        namespace: roleRef.kind === 'Role' ? namespace : '',
        name: roleRef.name ?? '',
        path: '',
      };
      if ((await authorize(bindAttributes)).allowed) return;
      const roleInfo = findResourceByPlural(info.group, roleResource) as ResourceInfo;
      const role = await store.storage.get(roleRef.kind === 'Role' ? `/registry/roles/${namespace}/${roleRef.name}` : `/registry/clusterroles/${roleRef.name}`);
      if (!role) {
        throw forbidden(
          info,
          object,
          `${userText(user)} is attempting to grant RBAC permissions not currently held: ${roleInfo.plural}.${roleInfo.group} "${roleRef.name}" not found`,
        );
      }
      const missing = await missingRules(user, namespace, (role.rules as PolicyRule[] | undefined) ?? [], authorize);
      if (missing.length > 0) {
        throw forbidden(info, object, `${userText(user)} is attempting to grant RBAC permissions not currently held:\n${missing.map(describeRule).join('\n')}`);
      }
    }
  };
}
