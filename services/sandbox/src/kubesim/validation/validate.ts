import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import type { KubeObject } from '../contracts.js';
import type { ResourceInfo } from '../registry/resources.js';
import { deepEqual } from '../patch/json.js';
import { fieldError, type StatusCause } from '../server/errors.js';
import { scalarText } from '../../text.js';

const require = createRequire(import.meta.url);

interface SchemaError {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}

type ModelClass = new (data: unknown) => { validate(): void };

const modelCache = new Map<string, ModelClass | null>();

function loadModel(path: string): ModelClass | null {
  if (!modelCache.has(path)) {
    try {
      const module = require(`kubernetes-models/${path}`) as Record<string, unknown>;
      const name = path.split('/').pop() as string;
      modelCache.set(path, (module[name] as ModelClass | undefined) ?? null);
    } catch {
      modelCache.set(path, null);
    }
  }
  return modelCache.get(path) ?? null;
}

function toFieldPath(instancePath: string): string {
  return instancePath
    .split('/')
    .filter(Boolean)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, segment) => (/^\d+$/.test(segment) ? `${path}[${segment}]` : path ? `${path}.${segment}` : segment), '');
}

function valueAt(object: unknown, instancePath: string): unknown {
  return instancePath
    .split('/')
    .filter(Boolean)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), object);
}

/**
 * JSON values of the wrong type for their Go field (a number where a string belongs): the real
 * apiserver fails to decode such a body and answers 400 BadRequest, not 422.
 */
export function decodeTypeErrors(info: ResourceInfo, object: KubeObject): string[] {
  const Model = loadModel(info.modelPath);
  if (!Model) return [];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    const list = (error as { errors?: SchemaError[] }).errors ?? [];
    return list
      .filter((e) => e.keyword === 'type' && valueAt(object, e.instancePath) !== null && valueAt(object, e.instancePath) !== undefined)
      .map((e) => `${toFieldPath(e.instancePath)}: ${e.message ?? 'wrong type'}`);
  }
}

/** Schema validation with the OpenAPI schemas kubernetes-models ships. */
export function schemaErrors(info: ResourceInfo, object: KubeObject): StatusCause[] {
  const Model = loadModel(info.modelPath);
  if (!Model) return [];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    const list = (error as { errors?: SchemaError[] }).errors ?? [];
    return list.map((e) => {
      const base = toFieldPath(e.instancePath);
      if (e.keyword === 'required') {
        const field = base ? `${base}.${String(e.params.missingProperty)}` : String(e.params.missingProperty);
        return fieldError('FieldValueRequired', field, '');
      }
      if (e.keyword === 'enum') {
        const allowed = Array.isArray(e.params.allowedValues) ? (e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ') : '';
        return fieldError('FieldValueNotSupported', base, `supported values: ${allowed}`, valueAt(object, e.instancePath));
      }
      return { type: 'FieldValueTypeInvalid', field: base, message: `Invalid value: ${e.message ?? 'invalid'}` };
    });
  }
}

interface AttributeType {
  name: string;
  baseName: string;
  type: string;
}

interface ModelWithTypes {
  getAttributeTypeMap(): AttributeType[];
}

function clientModel(name: string): ModelWithTypes | undefined {
  const candidate = (k8s as unknown as Record<string, unknown>)[name];
  return candidate && typeof (candidate as Partial<ModelWithTypes>).getAttributeTypeMap === 'function' ? (candidate as ModelWithTypes) : undefined;
}

function unknownIn(value: unknown, type: string, path: string, out: string[], drop: boolean): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((item, i) => unknownIn(item, array[1], `${path}[${i}]`, out, drop));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === 'object' && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) unknownIn(v, map[1], `${path}[${k}]`, out, drop);
    return;
  }
  const model = clientModel(type);
  if (!model || typeof value !== 'object' || Array.isArray(value)) return;
  const known = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const childType = known.get(k);
    const childPath = path ? `${path}.${k}` : k;
    if (childType === undefined) {
      out.push(childPath);
      if (drop) Reflect.deleteProperty(value, k);
    } else unknownIn(v, childType, childPath, out, drop);
  }
}

/**
 * Fields the Go types would not decode, as `spec.template.foo` paths (strict decoding).
 * With `drop` they are removed, as decoding into the Go types would.
 */
export function unknownFields(info: ResourceInfo, object: KubeObject, drop = false): string[] {
  const out: string[] = [];
  unknownIn(object, info.clientModel, '', out, drop);
  return out;
}

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function nameErrors(rule: ResourceInfo['nameRule'], name: string, field = 'metadata.name'): StatusCause[] {
  if (rule === 'path') {
    if (name === '.' || name === '..' || /[/%]/.test(name)) return [fieldError('FieldValueInvalid', field, `may not contain '/' or '%'`, name)];
    return [];
  }
  if (rule === 'label' && (name.length > 63 || !dns1123Label.test(name))) {
    return [
      fieldError(
        'FieldValueInvalid',
        field,
        `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
        name,
      ),
    ];
  }
  if (rule === 'label-start-alpha' && (name.length > 63 || !dns1035Label.test(name))) {
    return [
      fieldError(
        'FieldValueInvalid',
        field,
        `a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
        name,
      ),
    ];
  }
  if (rule === 'subdomain' && (name.length > 253 || !dns1123Subdomain.test(name))) {
    return [
      fieldError(
        'FieldValueInvalid',
        field,
        `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
        name,
      ),
    ];
  }
  return [];
}

const qualifiedNamePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

function qualifiedKeyErrors(key: string, field: string): StatusCause[] {
  const slash = key.split('/');
  const name = slash.length === 2 ? slash[1] : slash[0];
  const prefix = slash.length === 2 ? slash[0] : undefined;
  if (
    slash.length > 2 ||
    name.length > 63 ||
    !qualifiedNamePart.test(name) ||
    (prefix !== undefined && (prefix.length > 253 || !dns1123Subdomain.test(prefix)))
  ) {
    return [
      fieldError(
        'FieldValueInvalid',
        field,
        `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
        key,
      ),
    ];
  }
  return [];
}

function metadataErrors(object: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const [key, value] of Object.entries(object.metadata.labels ?? {})) {
    causes.push(...qualifiedKeyErrors(key, 'metadata.labels'));
    if (typeof value !== 'string' || value.length > 63 || (value !== '' && !qualifiedNamePart.test(value))) {
      causes.push(
        fieldError(
          'FieldValueInvalid',
          'metadata.labels',
          `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
          value,
        ),
      );
    }
  }
  for (const key of Object.keys(object.metadata.annotations ?? {})) causes.push(...qualifiedKeyErrors(key.toLowerCase(), 'metadata.annotations'));
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- validation runs on unchecked input, where an annotation value may be a number or boolean despite the type
  const annotationBytes = Object.entries(object.metadata.annotations ?? {}).reduce((n, [k, v]) => n + k.length + String(v).length, 0);
  if (annotationBytes > 256 * 1024)
    causes.push(fieldError('FieldValueTooLong' as 'FieldValueInvalid', 'metadata.annotations', 'must have at most 262144 bytes'));
  return causes;
}

const configKey = /^[-._a-zA-Z0-9]+$/;

function podSpecErrors(spec: unknown, field: string): StatusCause[] {
  const causes: StatusCause[] = [];
  if (!spec || typeof spec !== 'object') return [fieldError('FieldValueRequired', field, '')];
  const containers = (spec as { containers?: Array<{ name?: string; image?: string }> }).containers;
  if (!Array.isArray(containers) || containers.length === 0) causes.push(fieldError('FieldValueRequired', `${field}.containers`, ''));
  const names = new Set<string>();
  (containers ?? []).forEach((c, i) => {
    if (typeof c.name === 'string') {
      if (names.has(c.name)) causes.push(fieldError('FieldValueDuplicate', `${field}.containers[${i}].name`, '', c.name));
      names.add(c.name);
      causes.push(...nameErrors('label', c.name, `${field}.containers[${i}].name`));
    }
    if (!c.image) causes.push(fieldError('FieldValueRequired', `${field}.containers[${i}].image`, ''));
  });
  return causes;
}

function isCIDR(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const [address, bits, ...rest] = value.split('/');
  if (rest.length > 0 || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  const family = isIP(address);
  return family !== 0 && Number(bits) <= (family === 4 ? 32 : 128);
}

/** ValidatePositiveIntOrPercent and IsNotMoreThan100Percent, as for PodDisruptionBudget values. */
function intOrPercentErrors(value: unknown, field: string): StatusCause[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'number') return value < 0 ? [fieldError('FieldValueInvalid', field, 'must be greater than or equal to 0', value)] : [];
  if (typeof value !== 'string') return [];
  const match = /^(\d+)%$/.exec(value);
  if (!match)
    return [
      fieldError(
        'FieldValueInvalid',
        field,
        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        value,
      ),
    ];
  if (Number(match[1]) > 100) return [fieldError('FieldValueInvalid', field, 'must not be greater than 100%', value)];
  return [];
}

/** The status rules of ValidateDeploymentStatus / ReplicaSet / StatefulSet. */
function workloadStatusErrors(kind: string, raw: unknown): StatusCause[] {
  if (!raw || typeof raw !== 'object') return [];
  const status = raw as Record<string, unknown>;
  const causes: StatusCause[] = [];
  const fields = [
    'observedGeneration',
    'replicas',
    'updatedReplicas',
    'readyReplicas',
    'availableReplicas',
    'unavailableReplicas',
    'currentReplicas',
    'fullyLabeledReplicas',
    'terminatingReplicas',
    'collisionCount',
  ];
  for (const key of fields) {
    const value = status[key];
    if (typeof value === 'number' && value < 0) causes.push(fieldError('FieldValueInvalid', `status.${key}`, 'must be greater than or equal to 0', value));
  }
  const n = (key: string): number => (typeof status[key] === 'number' ? status[key] : 0);
  if (kind === 'DaemonSet') return causes;
  if (n('readyReplicas') > n('replicas'))
    causes.push(fieldError('FieldValueInvalid', 'status.readyReplicas', 'cannot be greater than status.replicas', n('readyReplicas')));
  if (n('availableReplicas') > n('replicas'))
    causes.push(fieldError('FieldValueInvalid', 'status.availableReplicas', 'cannot be greater than status.replicas', n('availableReplicas')));
  if (n('availableReplicas') > n('readyReplicas'))
    causes.push(fieldError('FieldValueInvalid', 'status.availableReplicas', 'cannot be greater than readyReplicas', n('availableReplicas')));
  if (kind === 'ReplicaSet' && n('fullyLabeledReplicas') > n('replicas'))
    causes.push(fieldError('FieldValueInvalid', 'status.fullyLabeledReplicas', 'cannot be greater than status.replicas', n('fullyLabeledReplicas')));
  return causes;
}

/** Signer names are a qualified name with a DNS-subdomain prefix: "example.com/signer". */
function signerNameErrors(signerName: string): StatusCause[] {
  const parts = signerName.split('/');
  if (parts.length < 2 || parts[0] === '' || parts.slice(1).join('/') === '') {
    return [fieldError('FieldValueInvalid', 'spec.signerName', "must be a fully qualified domain and path of the form 'example.com/signer-name'", signerName)];
  }
  if (!dns1123Subdomain.test(parts[0]))
    return [
      fieldError('FieldValueInvalid', 'spec.signerName', 'a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters', signerName),
    ];
  return [];
}

/** Semantic validation beyond the schema: the checks of pkg/apis/<group>/validation that matter here. */
export function semanticErrors(info: ResourceInfo, object: KubeObject): StatusCause[] {
  const causes = metadataErrors(object);
  const spec = object.spec as Record<string, unknown> | undefined;
  switch (info.kind) {
    case 'Secret':
    case 'ConfigMap': {
      const size = ['data', 'binaryData'].reduce(
        (n, section) =>
          n + Object.entries((object[section] as Record<string, unknown> | undefined) ?? {}).reduce((m, [k, v]) => m + k.length + String(v).length, 0),
        0,
      );
      if (size > 1024 * 1024)
        causes.push({ type: 'FieldValueTooLong', field: info.kind === 'Secret' ? 'data' : '', message: `Too long: must have at most 1048576 bytes` });
      for (const section of ['data', 'binaryData']) {
        for (const key of Object.keys((object[section] as Record<string, unknown> | undefined) ?? {})) {
          if (!configKey.test(key))
            causes.push(
              fieldError(
                'FieldValueInvalid',
                `${section}[${key}]`,
                `a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
                key,
              ),
            );
        }
      }
      break;
    }
    case 'Pod':
      causes.push(...podSpecErrors(spec, 'spec'));
      break;
    case 'Deployment':
    case 'StatefulSet':
    case 'ReplicaSet':
    case 'DaemonSet': {
      const selector = spec?.selector as { matchLabels?: Record<string, string> } | undefined;
      const template = spec?.template as { metadata?: { labels?: Record<string, string> }; spec?: unknown } | undefined;
      // A missing selector is reported Required by the schema; as a selector it matches nothing,
      // so the template's labels do not match it either (LabelSelectorAsSelector(nil) is Nothing).
      if (!selector)
        causes.push(
          fieldError('FieldValueInvalid', 'spec.template.metadata.labels', '`selector` does not match template `labels`', template?.metadata?.labels ?? {}),
        );
      else if (Object.keys(selector.matchLabels ?? {}).length === 0 && !(selector as { matchExpressions?: unknown[] }).matchExpressions?.length) {
        causes.push(fieldError('FieldValueInvalid', 'spec.selector', 'empty selector is invalid for deployment', selector));
      } else {
        const labels = template?.metadata?.labels ?? {};
        if (!Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v)) {
          causes.push(fieldError('FieldValueInvalid', 'spec.template.metadata.labels', '`selector` does not match template `labels`', labels));
        }
      }
      causes.push(...podSpecErrors(template?.spec, 'spec.template.spec'));
      if (typeof spec?.replicas === 'number' && spec.replicas < 0)
        causes.push(fieldError('FieldValueInvalid', 'spec.replicas', 'must be greater than or equal to 0', spec.replicas));
      causes.push(...workloadStatusErrors(info.kind, object.status));
      break;
    }
    case 'Service': {
      const ports = (spec?.ports as Array<{ port?: number; name?: string }> | undefined) ?? [];
      const type = (spec?.type as string | undefined) ?? 'ClusterIP';
      if (ports.length === 0 && spec?.clusterIP !== 'None' && type !== 'ExternalName') causes.push(fieldError('FieldValueRequired', 'spec.ports', ''));
      if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(type))
        causes.push(fieldError('FieldValueNotSupported', 'spec.type', 'supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"', type));
      if (ports.length > 1)
        ports.forEach((p, i) => {
          if (!p.name) causes.push(fieldError('FieldValueRequired', `spec.ports[${i}].name`, ''));
        });
      const portNames = new Set<string>();
      ports.forEach((p, i) => {
        if (typeof p.port === 'number' && (p.port < 1 || p.port > 65535))
          causes.push(fieldError('FieldValueInvalid', `spec.ports[${i}].port`, 'must be between 1 and 65535, inclusive', p.port));
        if (p.name) {
          if (portNames.has(p.name)) causes.push(fieldError('FieldValueDuplicate', `spec.ports[${i}].name`, '', p.name));
          portNames.add(p.name);
        }
        const target = (p as { targetPort?: unknown }).targetPort;
        if (typeof target === 'number' && (target < 1 || target > 65535))
          causes.push(fieldError('FieldValueInvalid', `spec.ports[${i}].targetPort`, 'must be between 1 and 65535, inclusive', target));
        if (
          typeof target === 'string' &&
          (target.length > 15 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(target) || !/[a-z]/.test(target) || target.includes('--'))
        ) {
          causes.push(
            fieldError('FieldValueInvalid', `spec.ports[${i}].targetPort`, 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)', target),
          );
        }
      });
      break;
    }
    case 'Endpoints': {
      const subsets = (object.subsets as Array<{ addresses?: Array<{ ip?: string }>; notReadyAddresses?: Array<{ ip?: string }> }> | undefined) ?? [];
      subsets.forEach((subset, i) => {
        for (const section of ['addresses', 'notReadyAddresses'] as const) {
          (subset[section] ?? []).forEach((address, j) => {
            const field = `subsets[${i}].${section}[${j}].ip`;
            if (!isIP(address.ip ?? '')) {
              // The real validation reports an unparsable endpoint IP twice: once as an IP and
              // once from the endpoint-address checks (loopback, link-local, ...).
              causes.push(fieldError('FieldValueInvalid', field, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)', address.ip));
              causes.push(fieldError('FieldValueInvalid', field, 'must be a valid IP address', address.ip));
            }
          });
        }
      });
      break;
    }
    case 'Node': {
      const cidrs = Array.isArray(spec?.podCIDRs)
        ? (spec.podCIDRs as unknown[])
        : typeof spec?.podCIDR === 'string' && spec.podCIDR !== ''
          ? [spec.podCIDR]
          : [];
      cidrs.forEach((cidr, i) => {
        if (!isCIDR(cidr))
          causes.push(fieldError('FieldValueInvalid', `spec.podCIDRs[${i}]`, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)', cidr));
      });
      break;
    }
    case 'Role':
    case 'ClusterRole': {
      const rules = (object.rules as Array<{ verbs?: string[]; apiGroups?: string[]; resources?: string[]; nonResourceURLs?: string[] }> | undefined) ?? [];
      rules.forEach((rule, i) => {
        if (!rule.verbs || rule.verbs.length === 0) causes.push(fieldError('FieldValueRequired', `rules[${i}].verbs`, 'verbs must contain at least one value'));
        const nonResource = rule.nonResourceURLs ?? [];
        if (nonResource.length > 0) {
          if (info.kind === 'Role')
            causes.push(fieldError('FieldValueInvalid', `rules[${i}].nonResourceURLs`, 'namespaced rules cannot apply to non-resource URLs', nonResource));
          else if ((rule.apiGroups ?? []).length > 0 || (rule.resources ?? []).length > 0)
            causes.push(
              fieldError('FieldValueInvalid', `rules[${i}].nonResourceURLs`, 'rules cannot apply to both regular resources and non-resource URLs', nonResource),
            );
        } else {
          if ((rule.apiGroups ?? []).length === 0)
            causes.push(fieldError('FieldValueRequired', `rules[${i}].apiGroups`, 'resource rules must supply at least one api group'));
          if ((rule.resources ?? []).length === 0)
            causes.push(fieldError('FieldValueRequired', `rules[${i}].resources`, 'resource rules must supply at least one resource'));
        }
      });
      break;
    }
    case 'RoleBinding':
    case 'ClusterRoleBinding': {
      const roleRef = (object.roleRef as { apiGroup?: string; kind?: string; name?: string } | undefined) ?? {};
      if (roleRef.apiGroup !== 'rbac.authorization.k8s.io')
        causes.push(fieldError('FieldValueNotSupported', 'roleRef.apiGroup', 'supported values: "rbac.authorization.k8s.io"', roleRef.apiGroup ?? ''));
      const kinds = info.kind === 'RoleBinding' ? ['Role', 'ClusterRole'] : ['ClusterRole'];
      if (!kinds.includes(roleRef.kind ?? ''))
        causes.push(fieldError('FieldValueNotSupported', 'roleRef.kind', `supported values: ${kinds.map((k) => `"${k}"`).join(', ')}`, roleRef.kind ?? ''));
      if (!roleRef.name) causes.push(fieldError('FieldValueRequired', 'roleRef.name', ''));
      else if (/[/%]/.test(roleRef.name) || roleRef.name === '.' || roleRef.name === '..')
        causes.push(fieldError('FieldValueInvalid', 'roleRef.name', `may not contain '/' or '%'`, roleRef.name));
      break;
    }
    case 'CertificateSigningRequest': {
      // A missing signerName is already reported by the schema (it is required in v1).
      if (spec?.signerName === 'kubernetes.io/legacy-unknown')
        causes.push(fieldError('FieldValueInvalid', 'spec.signerName', 'the legacy signerName is not allowed via this API version', spec.signerName));
      else if (typeof spec?.signerName === 'string' && spec.signerName !== '') causes.push(...signerNameErrors(spec.signerName));
      if (!spec?.request) causes.push(fieldError('FieldValueRequired', 'spec.request', ''));
      else if (!Buffer.from(scalarText(spec.request), 'base64').toString().includes('-----BEGIN CERTIFICATE REQUEST-----')) {
        causes.push(fieldError('FieldValueInvalid', 'spec.request', 'PEM block type must be CERTIFICATE REQUEST', '<request>'));
      }
      if (!Array.isArray(spec?.usages) || spec.usages.length === 0) causes.push(fieldError('FieldValueRequired', 'spec.usages', ''));
      const certificate = (object.status as { certificate?: string } | undefined)?.certificate;
      if (certificate !== undefined && certificate !== '') {
        const pem = Buffer.from(certificate, 'base64').toString();
        const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
        if (blocks.length === 0 || pem.replace(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g, '').trim() !== '') {
          causes.push(
            fieldError('FieldValueInvalid', 'status.certificate', 'must contain at least one CERTIFICATE PEM block and no other content', '<certificate data>'),
          );
        }
      }
      const conditions = ((object.status as { conditions?: Array<{ type?: string }> } | undefined)?.conditions ?? []).map((c) => c.type);
      if (conditions.includes('Approved') && conditions.includes('Denied'))
        causes.push(fieldError('FieldValueInvalid', 'status.conditions', 'Approved and Denied conditions are mutually exclusive', 'Approved'));
      break;
    }
    case 'PodDisruptionBudget':
      if (spec?.minAvailable !== undefined && spec?.maxUnavailable !== undefined)
        causes.push(fieldError('FieldValueInvalid', 'spec', 'minAvailable and maxUnavailable cannot be both set', spec));
      for (const key of ['minAvailable', 'maxUnavailable'] as const) causes.push(...intOrPercentErrors(spec?.[key], `spec.${key}`));
      break;
    case 'Lease':
      if (typeof spec?.leaseDurationSeconds === 'number' && spec.leaseDurationSeconds <= 0)
        causes.push(fieldError('FieldValueInvalid', 'spec.leaseDurationSeconds', 'must be greater than 0', spec.leaseDurationSeconds));
      break;
  }
  return causes;
}

function at(object: KubeObject, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), object);
}

const immutableFields: Record<string, string[]> = {
  Secret: ['type'],
  StatefulSet: ['spec.selector', 'spec.serviceName', 'spec.volumeClaimTemplates', 'spec.podManagementPolicy'],
  Deployment: ['spec.selector'],
  ReplicaSet: ['spec.selector'],
  DaemonSet: ['spec.selector'],
  Job: ['spec.selector', 'spec.template'],
  PersistentVolumeClaim: ['spec.storageClassName', 'spec.accessModes', 'spec.volumeName'],
  RoleBinding: ['roleRef'],
  ClusterRoleBinding: ['roleRef'],
};

export function immutableErrors(info: ResourceInfo, oldObject: KubeObject, newObject: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const path of immutableFields[info.kind] ?? []) {
    const before = at(oldObject, path);
    const after = at(newObject, path);
    if (info.kind === 'Service' && path === 'spec.clusterIP' && (after === undefined || after === '')) continue;
    if (!deepEqual(before, after))
      causes.push({ type: 'FieldValueInvalid', field: path, message: `Invalid value: ${JSON.stringify(after)}: field is immutable` });
  }
  if (info.kind === 'Service') {
    // ValidateServiceUpdate holds spec.clusterIPs[0] immutable (clusterIP is its mirror).
    const primary = (o: KubeObject): unknown => {
      const spec = (o.spec ?? {}) as { clusterIP?: string; clusterIPs?: string[] };
      return spec.clusterIPs?.[0] ?? spec.clusterIP;
    };
    const oldSpec = (oldObject.spec ?? {}) as { clusterIP?: string; clusterIPs?: string[] };
    const newSpec = (newObject.spec ?? {}) as { clusterIP?: string; clusterIPs?: string[] };
    const before = primary(oldObject);
    // normalizeClusterIPs: a change of clusterIP alone (clusterIPs as before) becomes clusterIPs [clusterIP].
    const after = newSpec.clusterIP !== oldSpec.clusterIP && deepEqual(newSpec.clusterIPs, oldSpec.clusterIPs) ? newSpec.clusterIP : primary(newObject);
    if (before !== undefined && before !== '' && after !== undefined && after !== '' && before !== after) {
      causes.push({ type: 'FieldValueInvalid', field: 'spec.clusterIPs[0]', message: `Invalid value: ${JSON.stringify(after)}: may not change once set` });
    }
  }
  if (info.kind === 'Pod') {
    const strip = (spec: unknown): unknown => {
      const copy = JSON.parse(JSON.stringify(spec ?? {})) as Record<string, unknown>;
      for (const c of (copy.containers as Array<Record<string, unknown>> | undefined) ?? []) delete c.image;
      for (const c of (copy.initContainers as Array<Record<string, unknown>> | undefined) ?? []) delete c.image;
      delete copy.activeDeadlineSeconds;
      delete copy.tolerations;
      return copy;
    };
    if (!deepEqual(strip(oldObject.spec), strip(newObject.spec))) {
      causes.push(
        fieldError(
          'FieldValueForbidden',
          'spec',
          'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
        ),
      );
    }
  }
  if (info.kind === 'CertificateSigningRequest') {
    const before = (oldObject.status as { certificate?: string } | undefined)?.certificate;
    const after = (newObject.status as { certificate?: string } | undefined)?.certificate;
    if (before && before !== after) causes.push(fieldError('FieldValueForbidden', 'status.certificate', 'updates may not modify existing certificate content'));
  }
  if (info.kind === 'Secret' || info.kind === 'ConfigMap') {
    if (
      (oldObject as { immutable?: boolean }).immutable === true &&
      (!deepEqual(oldObject.data, newObject.data) || !deepEqual(oldObject.binaryData, newObject.binaryData) || newObject.immutable !== true)
    ) {
      causes.push(fieldError('FieldValueForbidden', 'data', `field is immutable when \`immutable\` is set`));
    }
  }
  return causes;
}
