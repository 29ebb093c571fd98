// OpenAPI documents for clients. kubectl reads /openapi/v3 to learn that the server
// validates fields itself (the fieldValidation query parameter on PATCH operations tagged
// with x-kubernetes-group-version-kind); it then sends fieldValidation=Strict instead of
// validating on the client with the v2 document.
import { createHash } from 'node:crypto';
import { groupVersions, RESOURCES, type ResourceInfo } from '../registry/resources.js';

function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

const queryParameter = (name: string, description: string, type = 'string') => ({ name, in: 'query', description, schema: { type, uniqueItems: true } });

const commonWriteParameters = [
  queryParameter('dryRun', 'When present, indicates that modifications should not be persisted.'),
  queryParameter('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  queryParameter(
    'fieldValidation',
    'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn (default), Strict.',
  ),
];

function response(description: string, ref: string): Record<string, unknown> {
  return { description, content: { 'application/json': { schema: { $ref: ref } } } };
}

function paths(info: ResourceInfo): Record<string, unknown> {
  const base = `/${gvPath(info.group, info.version)}`;
  const scope = info.namespaced ? '/namespaces/{namespace}' : '';
  const collection = `${base}${scope}/${info.plural}`;
  const gvk = { group: info.group, version: info.version, kind: info.kind };
  const schemaRef = `#/components/schemas/${schemaName(info)}`;
  const op = (action: string, extra: Record<string, unknown> = {}) => ({
    tags: [info.group || 'core'],
    operationId: `${action}${info.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    responses: { '200': response('OK', schemaRef), '401': { description: 'Unauthorized' } },
    ...extra,
  });
  const pathParameters = [
    { name: 'name', in: 'path', required: true, description: `name of the ${info.kind}`, schema: { type: 'string', uniqueItems: true } },
    ...(info.namespaced
      ? [{ name: 'namespace', in: 'path', required: true, description: 'object name and auth scope', schema: { type: 'string', uniqueItems: true } }]
      : []),
  ];
  if (info.virtual) {
    return {
      [`${base}${info.kind === 'LocalSubjectAccessReview' ? '/namespaces/{namespace}' : ''}/${info.plural}`]: {
        post: op('post', { parameters: commonWriteParameters }),
      },
    };
  }
  const result: Record<string, unknown> = {
    [collection]: {
      get: op('list', {
        parameters: [
          queryParameter('labelSelector', 'label selector'),
          queryParameter('fieldSelector', 'field selector'),
          queryParameter('limit', 'limit', 'integer'),
          queryParameter('continue', 'continue token'),
        ],
      }),
      post: op('post', { parameters: commonWriteParameters }),
    },
    [`${collection}/{name}`]: {
      get: op('get'),
      put: op('put', { parameters: commonWriteParameters }),
      patch: op('patch', { parameters: [...commonWriteParameters, queryParameter('force', 'Force is going to "force" Apply requests.', 'boolean')] }),
      delete: op('delete', {
        parameters: [queryParameter('propagationPolicy', 'propagation policy'), queryParameter('gracePeriodSeconds', 'grace period', 'integer')],
      }),
      parameters: pathParameters,
    },
  };
  for (const sub of info.subresources) {
    if (sub === 'status' || sub === 'scale' || sub === 'approval') {
      result[`${collection}/{name}/${sub}`] = {
        get: op('get'),
        put: op('put', { parameters: commonWriteParameters }),
        patch: op('patch', { parameters: [...commonWriteParameters, queryParameter('force', 'force', 'boolean')] }),
        parameters: pathParameters,
      };
    }
  }
  return result;
}

function schemaName(info: ResourceInfo): string {
  const group = info.group === '' ? 'core' : info.group.split('.')[0];
  return `io.k8s.api.${group}.${info.version}.${info.kind}`;
}

function groupDocument(group: string, version: string): Record<string, unknown> {
  const resources = RESOURCES.filter((r) => r.group === group && r.version === version);
  const schemas: Record<string, unknown> = {};
  for (const r of resources) {
    schemas[schemaName(r)] = {
      type: 'object',
      description: `${r.kind} (schema served by kubesim; validation happens on the server)`,
      properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } },
      'x-kubernetes-group-version-kind': [{ group, version, kind: r.kind }],
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths: Object.assign({}, ...resources.map(paths)),
    components: { schemas },
  };
}

const documents = new Map<string, { doc: Record<string, unknown>; hash: string }>();

function documentFor(path: string): { doc: Record<string, unknown>; hash: string } | undefined {
  if (documents.size === 0) {
    for (const { group, version } of groupVersions()) {
      const doc = groupDocument(group, version);
      const hash = createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 128).toUpperCase();
      documents.set(gvPath(group, version), { doc, hash });
    }
  }
  return documents.get(path);
}

export function openApiV3Index(): Record<string, unknown> {
  documentFor('');
  const paths: Record<string, unknown> = {};
  for (const [path, { hash }] of documents) paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
  return { paths };
}

export function openApiV3Group(path: string): Record<string, unknown> | undefined {
  return documentFor(path)?.doc;
}

/** A JSON v2 document; clients that only accept the protobuf form get 406 and fall back. */
export function openApiV2(): Record<string, unknown> {
  return { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths: {}, definitions: {} };
}
