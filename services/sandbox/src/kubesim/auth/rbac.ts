import type { AuthorizationDecision, Authorizer, KubeObject, ObjectReader, RequestAttributes, UserInfo } from '../contracts.js';

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

interface RoleRef {
  apiGroup?: string;
  kind: string;
  name: string;
}

interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export const SYSTEM_PRIVILEGED_GROUP = 'system:masters';
const RBAC_GROUP = 'rbac.authorization.k8s.io';

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function rulesOf(role: KubeObject): PolicyRule[] {
  const rules = role.rules;
  if (!Array.isArray(rules)) return [];
  return rules
    .filter((rule): rule is Record<string, unknown> => typeof rule === 'object' && rule !== null)
    .map((rule) => ({
      verbs: stringList(rule.verbs),
      apiGroups: stringList(rule.apiGroups),
      resources: stringList(rule.resources),
      resourceNames: stringList(rule.resourceNames),
      nonResourceURLs: stringList(rule.nonResourceURLs),
    }));
}

function subjectsOf(binding: KubeObject): Subject[] {
  const subjects = binding.subjects;
  if (!Array.isArray(subjects)) return [];
  return subjects.filter(
    (subject): subject is Subject =>
      typeof subject === 'object' && subject !== null && typeof (subject as Subject).kind === 'string' && typeof (subject as Subject).name === 'string',
  );
}

function roleRefOf(binding: KubeObject): RoleRef | undefined {
  const ref = binding.roleRef as RoleRef | undefined;
  return ref && typeof ref.kind === 'string' && typeof ref.name === 'string' ? ref : undefined;
}

/** rbac/v1 helpers: subject matching, including ServiceAccount subjects defaulting to the binding namespace. */
export function subjectApplies(subject: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return user.username === subject.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing -- an empty string means unset here too and must fall back, which `??` would not do
      const namespace = subject.namespace || bindingNamespace;
      return namespace !== '' && user.username === `system:serviceaccount:${namespace}:${subject.name}`;
    }
    default:
      return false;
  }
}

/** describeSubject in the RBAC authorizer: the binding subject that matched, as its decision reason names it. */
function describeSubject(subject: Subject, bindingNamespace: string): string {
  // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing -- an empty string means unset here too and must fall back, which `??` would not do
  if (subject.kind === 'ServiceAccount') return `${subject.kind} ${JSON.stringify(`${subject.name}/${subject.namespace || bindingNamespace}`)}`;
  return `${subject.kind} ${JSON.stringify(subject.name)}`;
}

/** pkg/apis/rbac/v1 evaluation helpers (VerbMatches, APIGroupMatches, ResourceMatches, ...). */
export function ruleAllows(attributes: RequestAttributes, rule: PolicyRule): boolean {
  if (!rule.verbs.includes('*') && !rule.verbs.includes(attributes.verb)) return false;
  if (attributes.resourceRequest) {
    const groups = rule.apiGroups ?? [];
    if (!groups.includes('*') && !groups.includes(attributes.apiGroup)) return false;
    if (!resourceMatches(rule.resources ?? [], attributes.resource, attributes.subresource)) return false;
    const names = rule.resourceNames ?? [];
    return names.length === 0 || (attributes.name !== '' && names.includes(attributes.name));
  }
  return (rule.nonResourceURLs ?? []).some((pattern) => nonResourceUrlMatches(pattern, attributes.path));
}

function resourceMatches(ruleResources: string[], resource: string, subresource: string): boolean {
  const combined = subresource === '' ? resource : `${resource}/${subresource}`;
  return ruleResources.some((candidate) => candidate === '*' || candidate === combined || (subresource !== '' && candidate === `*/${subresource}`));
}

function nonResourceUrlMatches(pattern: string, path: string): boolean {
  if (pattern === '*' || pattern === path) return true;
  return pattern.endsWith('*') && path.startsWith(pattern.slice(0, -1));
}

export function labelSelectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const requirement of selector.matchExpressions ?? []) {
    const present = Object.prototype.hasOwnProperty.call(labels, requirement.key);
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case 'In':
        if (!present || !values.includes(labels[requirement.key])) return false;
        break;
      case 'NotIn':
        if (present && values.includes(labels[requirement.key])) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * RBAC as plugin/pkg/auth/authorizer/rbac evaluates it: allow when any binding that applies to
 * the user grants a matching rule, otherwise no opinion (RBAC never denies).
 * Aggregated ClusterRoles are resolved at evaluation time, which is what the
 * clusterrole-aggregation controller converges to.
 */
export class RbacAuthorizer implements Authorizer {
  constructor(private readonly reader: ObjectReader) {}

  async authorize(attributes: RequestAttributes): Promise<AuthorizationDecision> {
    const clusterRoleBindings = await this.reader.list(RBAC_GROUP, 'clusterrolebindings');
    for (const binding of clusterRoleBindings) {
      const ref = roleRefOf(binding);
      if (ref?.kind !== 'ClusterRole') continue;
      const subject = subjectsOf(binding).find((candidate) => subjectApplies(candidate, attributes.user, ''));
      if (!subject) continue;
      if ((await this.clusterRoleRules(ref.name)).some((rule) => ruleAllows(attributes, rule))) {
        return {
          decision: 'allow',
          reason: `RBAC: allowed by ClusterRoleBinding "${binding.metadata.name}" of ClusterRole "${ref.name}" to ${describeSubject(subject, '')}`,
        };
      }
    }
    if (attributes.resourceRequest && attributes.namespace !== '') {
      const roleBindings = await this.reader.list(RBAC_GROUP, 'rolebindings', attributes.namespace);
      for (const binding of roleBindings) {
        const ref = roleRefOf(binding);
        if (!ref) continue;
        const namespace = binding.metadata.namespace ?? attributes.namespace;
        const subject = subjectsOf(binding).find((candidate) => subjectApplies(candidate, attributes.user, namespace));
        if (!subject) continue;
        const rules = ref.kind === 'ClusterRole' ? await this.clusterRoleRules(ref.name) : ref.kind === 'Role' ? await this.roleRules(namespace, ref.name) : [];
        if (rules.some((rule) => ruleAllows(attributes, rule))) {
          return {
            decision: 'allow',
            reason: `RBAC: allowed by RoleBinding "${binding.metadata.name}/${namespace}" of ${ref.kind} "${ref.name}" to ${describeSubject(subject, namespace)}`,
          };
        }
      }
    }
    return { decision: 'no-opinion', reason: '' };
  }

  private async roleRules(namespace: string, name: string): Promise<PolicyRule[]> {
    const role = await this.reader.get(RBAC_GROUP, 'roles', namespace, name);
    return role ? rulesOf(role) : [];
  }

  private async clusterRoleRules(name: string, visited = new Set<string>()): Promise<PolicyRule[]> {
    if (visited.has(name)) return [];
    visited.add(name);
    const role = await this.reader.get(RBAC_GROUP, 'clusterroles', undefined, name);
    if (!role) return [];
    const rules = rulesOf(role);
    const aggregation = role.aggregationRule as { clusterRoleSelectors?: LabelSelector[] } | undefined;
    const selectors = aggregation?.clusterRoleSelectors ?? [];
    if (selectors.length === 0) return rules;
    const candidates = await this.reader.list(RBAC_GROUP, 'clusterroles');
    for (const candidate of candidates) {
      const candidateName = candidate.metadata.name ?? '';
      if (candidateName === name) continue;
      const labels = candidate.metadata.labels ?? {};
      if (selectors.some((selector) => labelSelectorMatches(selector, labels))) {
        rules.push(...(await this.clusterRoleRules(candidateName, visited)));
      }
    }
    return rules;
  }
}

/** authorizerfactory.NewPrivilegedGroups: members of system:masters may do anything. */
export class PrivilegedGroupAuthorizer implements Authorizer {
  async authorize(attributes: RequestAttributes): Promise<AuthorizationDecision> {
    return attributes.user.groups.includes(SYSTEM_PRIVILEGED_GROUP)
      ? { decision: 'allow', reason: `member of ${SYSTEM_PRIVILEGED_GROUP}` }
      : { decision: 'no-opinion', reason: '' };
  }
}

export class AlwaysAllowAuthorizer implements Authorizer {
  async authorize(): Promise<AuthorizationDecision> {
    return { decision: 'allow', reason: 'AlwaysAllow' };
  }
}

export class AlwaysDenyAuthorizer implements Authorizer {
  async authorize(): Promise<AuthorizationDecision> {
    return { decision: 'deny', reason: 'AlwaysDeny' };
  }
}

/** union.New for authorizers: the first allow or deny decides; all no-opinion means forbidden. */
export async function authorizeRequest(chain: Authorizer[], attributes: RequestAttributes): Promise<AuthorizationDecision> {
  const reasons: string[] = [];
  for (const authorizer of chain) {
    const decision = await authorizer.authorize(attributes);
    if (decision.decision !== 'no-opinion') return decision;
    if (decision.reason) reasons.push(decision.reason);
  }
  return { decision: 'no-opinion', reason: reasons.join('; ') };
}
