// Just enough of the Kubernetes protobuf encoding (runtime.Unknown envelope with the
// "k8s\0" magic) to read what kubectl's typed clients send as protobuf: the reviews
// (auth can-i, auth whoami) and the kinds of `kubectl create namespace|configmap|secret|
// serviceaccount|role|clusterrole|rolebinding|clusterrolebinding` and `kubectl drain`'s
// Eviction. Field numbers are those of k8s.io/api's generated.proto. Responses are JSON,
// which client-go accepts whatever it asked for.
import { ApiError } from './errors.js';

type Fields = Map<number, Array<Buffer | number>>;

function readVarint(buffer: Buffer, offset: number): [number, number] {
  let result = 0;
  let shift = 0;
  let position = offset;
  for (;;) {
    if (position >= buffer.length) throw new Error('truncated varint');
    const byte = buffer[position++];
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [result, position];
    shift += 7;
  }
}

function decodeFields(buffer: Buffer): Fields {
  const fields: Fields = new Map();
  let offset = 0;
  while (offset < buffer.length) {
    const [key, next] = readVarint(buffer, offset);
    offset = next;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    let value: Buffer | number;
    if (wire === 0) [value, offset] = readVarint(buffer, offset);
    else if (wire === 2) {
      const [length, start] = readVarint(buffer, offset);
      value = buffer.subarray(start, start + length);
      offset = start + length;
    } else if (wire === 1) {
      value = buffer.readDoubleLE(offset);
      offset += 8;
    } else if (wire === 5) {
      value = buffer.readFloatLE(offset);
      offset += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
    fields.set(field, [...(fields.get(field) ?? []), value]);
  }
  return fields;
}

function str(fields: Fields, n: number): string | undefined {
  const v = fields.get(n)?.[0];
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
}

function msg(fields: Fields, n: number): Fields | undefined {
  const v = fields.get(n)?.[0];
  return Buffer.isBuffer(v) ? decodeFields(v) : undefined;
}

function strings(fields: Fields, n: number): string[] {
  return (fields.get(n) ?? []).filter((b): b is Buffer => Buffer.isBuffer(b)).map((b) => b.toString('utf8'));
}

function compact<T extends Record<string, unknown>>(object: T): T {
  for (const key of Object.keys(object)) if (object[key] === undefined) Reflect.deleteProperty(object, key);
  return object;
}

function resourceAttributes(f: Fields | undefined): Record<string, unknown> | undefined {
  if (!f) return undefined;
  return compact({ namespace: str(f, 1), verb: str(f, 2), group: str(f, 3), version: str(f, 4), resource: str(f, 5), subresource: str(f, 6), name: str(f, 7) });
}

function nonResourceAttributes(f: Fields | undefined): Record<string, unknown> | undefined {
  if (!f) return undefined;
  return compact({ path: str(f, 1), verb: str(f, 2) });
}

function objectMeta(f: Fields | undefined): Record<string, unknown> {
  if (!f) return {};
  return compact({ name: str(f, 1), generateName: str(f, 2), namespace: str(f, 3) });
}

/** Decodes a protobuf request body for the kinds kubectl sends that way. */
export function decodeProtobufReview(body: Buffer, expectedKind: string): Record<string, unknown> {
  if (body.length < 4 || body.subarray(0, 4).toString('latin1') !== 'k8s\0')
    throw new ApiError(400, 'BadRequest', 'provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]');
  try {
    const unknown = decodeFields(body.subarray(4));
    const typeMeta = msg(unknown, 1);
    const apiVersion = typeMeta ? str(typeMeta, 1) : undefined;
    const kind = typeMeta ? str(typeMeta, 2) : undefined;
    const raw = unknown.get(2)?.[0];
    const object: Fields = Buffer.isBuffer(raw) ? decodeFields(raw) : new Map<number, Array<Buffer | number>>();
    const metadata = objectMeta(msg(object, 1));
    const specFields = msg(object, 2);
    let spec: Record<string, unknown> = {};
    switch (expectedKind) {
      case 'SelfSubjectAccessReview':
        spec = compact({
          resourceAttributes: resourceAttributes(specFields && msg(specFields, 1)),
          nonResourceAttributes: nonResourceAttributes(specFields && msg(specFields, 2)),
        });
        break;
      case 'SubjectAccessReview':
      case 'LocalSubjectAccessReview':
        spec = compact({
          resourceAttributes: resourceAttributes(specFields && msg(specFields, 1)),
          nonResourceAttributes: nonResourceAttributes(specFields && msg(specFields, 2)),
          user: specFields && str(specFields, 3),
          groups: specFields ? strings(specFields, 4) : undefined,
          uid: specFields && str(specFields, 6),
        });
        break;
      case 'TokenReview':
        spec = compact({ token: specFields && str(specFields, 1), audiences: specFields ? strings(specFields, 2) : undefined });
        break;
      case 'SelfSubjectReview':
        break;
      default:
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
        );
    }
    return { apiVersion, kind, metadata, spec };
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(400, 'BadRequest', `unable to decode protobuf body: ${(error as Error).message}`);
  }
}

type Scalar = 'string' | 'bytes' | 'bool' | 'int' | 'time';
interface FieldSpec {
  name: string;
  type: Scalar | Schema | { map: 'string' | 'bytes' };
  repeated?: boolean;
}
type Schema = Record<number, FieldSpec>;

const time: Scalar = 'time';
const labelSelector: Schema = {
  1: { name: 'matchLabels', type: { map: 'string' } },
  2: {
    name: 'matchExpressions',
    repeated: true,
    type: { 1: { name: 'key', type: 'string' }, 2: { name: 'operator', type: 'string' }, 3: { name: 'values', type: 'string', repeated: true } },
  },
};
const objectMetaSchema: Schema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int' },
  8: { name: 'creationTimestamp', type: time },
  9: { name: 'deletionTimestamp', type: time },
  10: { name: 'deletionGracePeriodSeconds', type: 'int' },
  11: { name: 'labels', type: { map: 'string' } },
  12: { name: 'annotations', type: { map: 'string' } },
  13: {
    name: 'ownerReferences',
    repeated: true,
    type: {
      1: { name: 'kind', type: 'string' },
      3: { name: 'name', type: 'string' },
      4: { name: 'uid', type: 'string' },
      5: { name: 'apiVersion', type: 'string' },
      6: { name: 'controller', type: 'bool' },
      7: { name: 'blockOwnerDeletion', type: 'bool' },
    },
  },
  14: { name: 'finalizers', type: 'string', repeated: true },
};
const metadata: FieldSpec = { name: 'metadata', type: objectMetaSchema };
const policyRule: Schema = {
  1: { name: 'verbs', type: 'string', repeated: true },
  2: { name: 'apiGroups', type: 'string', repeated: true },
  3: { name: 'resources', type: 'string', repeated: true },
  4: { name: 'resourceNames', type: 'string', repeated: true },
  5: { name: 'nonResourceURLs', type: 'string', repeated: true },
};
const binding: Schema = {
  1: metadata,
  2: {
    name: 'subjects',
    repeated: true,
    type: {
      1: { name: 'kind', type: 'string' },
      2: { name: 'apiGroup', type: 'string' },
      3: { name: 'name', type: 'string' },
      4: { name: 'namespace', type: 'string' },
    },
  },
  3: { name: 'roleRef', type: { 1: { name: 'apiGroup', type: 'string' }, 2: { name: 'kind', type: 'string' }, 3: { name: 'name', type: 'string' } } },
};
const objectSchemas: Record<string, Schema> = {
  Namespace: {
    1: metadata,
    2: { name: 'spec', type: { 1: { name: 'finalizers', type: 'string', repeated: true } } },
    3: { name: 'status', type: { 1: { name: 'phase', type: 'string' } } },
  },
  ConfigMap: {
    1: metadata,
    2: { name: 'data', type: { map: 'string' } },
    3: { name: 'binaryData', type: { map: 'bytes' } },
    4: { name: 'immutable', type: 'bool' },
  },
  Secret: {
    1: metadata,
    2: { name: 'data', type: { map: 'bytes' } },
    3: { name: 'type', type: 'string' },
    4: { name: 'stringData', type: { map: 'string' } },
    5: { name: 'immutable', type: 'bool' },
  },
  ServiceAccount: {
    1: metadata,
    2: {
      name: 'secrets',
      repeated: true,
      type: {
        1: { name: 'kind', type: 'string' },
        2: { name: 'namespace', type: 'string' },
        3: { name: 'name', type: 'string' },
        4: { name: 'uid', type: 'string' },
        5: { name: 'apiVersion', type: 'string' },
      },
    },
    3: { name: 'imagePullSecrets', repeated: true, type: { 1: { name: 'name', type: 'string' } } },
    4: { name: 'automountServiceAccountToken', type: 'bool' },
  },
  Role: { 1: metadata, 2: { name: 'rules', repeated: true, type: policyRule } },
  ClusterRole: {
    1: metadata,
    2: { name: 'rules', repeated: true, type: policyRule },
    3: { name: 'aggregationRule', type: { 1: { name: 'clusterRoleSelectors', repeated: true, type: labelSelector } } },
  },
  RoleBinding: binding,
  ClusterRoleBinding: binding,
  TokenRequest: {
    1: metadata,
    2: {
      name: 'spec',
      type: {
        1: { name: 'audiences', type: 'string', repeated: true },
        3: {
          name: 'boundObjectRef',
          type: {
            1: { name: 'kind', type: 'string' },
            2: { name: 'apiVersion', type: 'string' },
            3: { name: 'name', type: 'string' },
            4: { name: 'uid', type: 'string' },
          },
        },
        4: { name: 'expirationSeconds', type: 'int' },
      },
    },
  },
  Eviction: {
    1: metadata,
    2: {
      name: 'deleteOptions',
      type: {
        1: { name: 'gracePeriodSeconds', type: 'int' },
        2: { name: 'preconditions', type: { 1: { name: 'uid', type: 'string' }, 2: { name: 'resourceVersion', type: 'string' } } },
        3: { name: 'orphanDependents', type: 'bool' },
        4: { name: 'propagationPolicy', type: 'string' },
        5: { name: 'dryRun', type: 'string', repeated: true },
      },
    },
  },
};

function decodeValue(raw: Buffer | number, type: FieldSpec['type']): unknown {
  if (type === 'string') return Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw);
  if (type === 'bytes') return Buffer.isBuffer(raw) ? raw.toString('base64') : '';
  if (type === 'bool') return raw === 1;
  if (type === 'int') return typeof raw === 'number' ? raw : 0;
  if (type === 'time') {
    const fields: Fields = Buffer.isBuffer(raw) ? decodeFields(raw) : new Map<number, Array<Buffer | number>>();
    const seconds = Number(fields.get(1)?.[0] ?? 0);
    return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  if ('map' in type) throw new Error('map handled by caller');
  return decodeMessage(Buffer.isBuffer(raw) ? raw : Buffer.alloc(0), type);
}

function decodeMessage(buffer: Buffer, schema: Schema): Record<string, unknown> {
  const fields = decodeFields(buffer);
  const result: Record<string, unknown> = {};
  for (const [number, values] of fields) {
    const spec = schema[number];
    if (!spec) continue;
    const type = spec.type;
    if (typeof type === 'object' && 'map' in type) {
      const map: Record<string, unknown> = {};
      for (const entry of values) {
        if (!Buffer.isBuffer(entry)) continue;
        const kv = decodeFields(entry);
        const key = kv.get(1)?.[0];
        const value = kv.get(2)?.[0];
        map[Buffer.isBuffer(key) ? key.toString('utf8') : ''] = value === undefined ? (type.map === 'bytes' ? '' : '') : decodeValue(value, type.map);
      }
      result[spec.name] = map;
    } else if (spec.repeated) {
      result[spec.name] = values.map((v) => decodeValue(v, type));
    } else {
      const value = decodeValue(values[values.length - 1], type);
      // Go's zero values are what omitempty leaves out of the JSON form.
      if (value !== '' && value !== false && value !== 0) result[spec.name] = value;
    }
  }
  return result;
}

/** Decodes a protobuf-encoded object of the kinds kubectl's typed clients create. */
export function decodeProtobufObject(body: Buffer, expectedKind: string): Record<string, unknown> {
  const schema = objectSchemas[expectedKind];
  if (!schema)
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
    );
  if (body.length < 4 || body.subarray(0, 4).toString('latin1') !== 'k8s\0')
    throw new ApiError(400, 'BadRequest', 'provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]');
  try {
    const unknown = decodeFields(body.subarray(4));
    const typeMeta = msg(unknown, 1);
    const raw = unknown.get(2)?.[0];
    const object = decodeMessage(Buffer.isBuffer(raw) ? raw : Buffer.alloc(0), schema);
    return { apiVersion: typeMeta ? str(typeMeta, 1) : undefined, kind: typeMeta ? str(typeMeta, 2) : undefined, ...object };
  } catch (error) {
    throw new ApiError(400, 'BadRequest', `unable to decode protobuf body: ${(error as Error).message}`);
  }
}
