import { SUPPORTED_VERSIONS } from '../../../services/core/src/versions.js';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSeed, type SeedHandle } from '../../../services/sandbox/src/kubesim/index.js';
import { raw } from './helpers.js';
import { eventually } from '../../support/time.js';

let seed: SeedHandle;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let certificates: k8s.CertificatesV1Api;
const ns = 'client-node';

function apiError(error: unknown): { code: number; body: Record<string, unknown> } {
  if (!(error instanceof k8s.ApiException)) throw error;
  return { code: error.code, body: JSON.parse(String(error.body)) as Record<string, unknown> };
}

async function failure(promise: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return apiError(error);
  }
  throw new Error('expected the request to fail');
}

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const jsonPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);
const strategicPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

function deployment(name: string, replicas = 1): k8s.V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'busybox:1.36', env: [{ name: 'A', value: '1' }] }] } },
    },
  };
}

beforeAll(async () => {
  seed = await createSeed({ bookmarkIntervalMs: 300 });
  kc = new k8s.KubeConfig();
  kc.loadFromString(seed.adminKubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  certificates = kc.makeApiClient(k8s.CertificatesV1Api);
  await core.createNamespace({ body: { metadata: { name: ns } } });
});

afterAll(async () => {
  await seed?.close();
});

describe('kubesim with @kubernetes/client-node', () => {
  it('serves discovery, version and health', async () => {
    const version = await kc.makeApiClient(k8s.VersionApi).getCode();
    expect(version.gitVersion).toBe(`v${SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1].version}`);
    const groups = await kc.makeApiClient(k8s.ApisApi).getAPIVersions();
    expect(groups.groups.map((g) => g.name)).toEqual(
      expect.arrayContaining(['apps', 'rbac.authorization.k8s.io', 'certificates.k8s.io', 'coordination.k8s.io', 'policy']),
    );
    const resources = await core.getAPIResources();
    const pods = resources.resources.find((r) => r.name === 'pods');
    expect(pods).toMatchObject({ namespaced: true, kind: 'Pod', shortNames: ['po'] });
    expect(resources.resources.map((r) => r.name)).toEqual(expect.arrayContaining(['pods/status', 'pods/eviction', 'namespaces/finalize']));
    expect((await raw(seed.adminKubeconfig, 'GET', '/readyz')).text).toBe('ok');
    expect((await raw(seed.adminKubeconfig, 'GET', '/livez')).status).toBe(200);
  });

  it('creates the system namespaces and the kubernetes service at start', async () => {
    const names = (await core.listNamespace()).items.map((n) => n.metadata?.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public', 'kube-node-lease']));
    const svc = await core.readNamespacedService({ name: 'kubernetes', namespace: 'default' });
    expect(svc.spec?.clusterIP).toBe('10.96.0.1');
  });

  it('draws a new generated name when the first one is taken, as the apiserver does since RetryGenerateName', async () => {
    // The first two creates draw the same suffix (Math.random pinned to 0 for ten draws); the
    // second must be stored under a fresh name, not refused with 409.
    const realRandom = Math.random.bind(Math);
    let draws = 0;
    const random = vi.spyOn(Math, 'random').mockImplementation(() => (draws++ < 10 ? 0 : realRandom()));
    try {
      const first = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { generateName: 'dup-' }, data: { n: '1' } } });
      const second = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { generateName: 'dup-' }, data: { n: '2' } } });
      expect(first.metadata?.name).toBe('dup-bbbbb');
      expect(second.metadata?.name).toMatch(/^dup-[a-z0-9]{5}$/);
      expect(second.metadata?.name).not.toBe(first.metadata?.name);
      expect((await core.readNamespacedConfigMap({ name: 'dup-bbbbb', namespace: ns })).data).toEqual({ n: '1' });
    } finally {
      random.mockRestore();
    }
  });

  it('does CRUD with uid, creationTimestamp, generateName and 409 on stale resourceVersion', async () => {
    const created = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { generateName: 'cfg-' }, data: { a: '1' } } });
    const name = created.metadata?.name as string;
    expect(name).toMatch(/^cfg-[a-z0-9]{5}$/);
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const replaced = await core.replaceNamespacedConfigMap({ name, namespace: ns, body: { ...created, data: { a: '2' } } });
    expect(replaced.data).toEqual({ a: '2' });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));
    const stale = await failure(core.replaceNamespacedConfigMap({ name, namespace: ns, body: { ...created, data: { a: '3' } } }));
    expect(stale.code).toBe(409);
    expect(stale.body).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'Conflict',
      code: 409,
      message: `Operation cannot be fulfilled on configmaps "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      details: { name, kind: 'configmaps' },
    });
    const duplicate = await failure(core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: {} } }));
    expect(duplicate.body).toMatchObject({ reason: 'AlreadyExists', code: 409, message: `configmaps "${name}" already exists` });
    await core.deleteNamespacedConfigMap({ name, namespace: ns });
    const missing = await failure(core.readNamespacedConfigMap({ name, namespace: ns }));
    expect(missing.body).toMatchObject({ reason: 'NotFound', code: 404, message: `configmaps "${name}" not found`, details: { name, kind: 'configmaps' } });
  });

  it('serves discovery.k8s.io/v1 EndpointSlices, listed by their service-name label', async () => {
    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    const slice: k8s.V1EndpointSlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.7'], conditions: { ready: true } }],
      ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
    };
    await discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice });
    const listed = await discovery.listNamespacedEndpointSlice({ namespace: ns, labelSelector: 'kubernetes.io/service-name=web' });
    expect(listed.items.map((item) => item.endpoints[0]?.addresses)).toEqual([['10.0.0.7']]);
    await discovery.deleteNamespacedEndpointSlice({ name: 'web-abc', namespace: ns });
  });

  it('refuses objects in missing namespaces and a namespace mismatch', async () => {
    const missing = await failure(core.createNamespacedConfigMap({ namespace: 'nope', body: { metadata: { name: 'x' } } }));
    expect(missing.body).toMatchObject({ code: 404, reason: 'NotFound', message: 'namespaces "nope" not found' });
    const mismatch = await failure(core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'x', namespace: 'default' } } }));
    expect(mismatch.code).toBe(400);
    expect(mismatch.body.message).toBe('the namespace of the provided object does not match the namespace sent on the request');
  });

  it('lists with label selectors, field selectors and pagination', async () => {
    const labels: Array<Record<string, string>> = [{ tier: 'web', env: 'prod' }, { tier: 'web', env: 'dev' }, { tier: 'db', env: 'prod' }, { tier: 'cache' }];
    for (const [i, l] of labels.entries())
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `sel-${i}`, labels: { ...l, sel: 'yes' } } } });
    const names = async (labelSelector: string) =>
      (await core.listNamespacedConfigMap({ namespace: ns, labelSelector })).items.map((i) => i.metadata?.name).sort();
    expect(await names('sel,tier=web')).toEqual(['sel-0', 'sel-1']);
    expect(await names('sel,tier==web,env!=prod')).toEqual(['sel-1']);
    expect(await names('sel,env in (prod,dev)')).toEqual(['sel-0', 'sel-1', 'sel-2']);
    expect(await names('sel,tier notin (web,db)')).toEqual(['sel-3']);
    expect(await names('sel,!env')).toEqual(['sel-3']);
    const byField = await core.listNamespacedConfigMap({ namespace: ns, fieldSelector: 'metadata.name=sel-2' });
    expect(byField.items.map((i) => i.metadata?.name)).toEqual(['sel-2']);
    const badField = await failure(core.listNamespacedConfigMap({ namespace: ns, fieldSelector: 'spec.foo=bar' }));
    expect(badField.body).toMatchObject({ code: 400, message: 'field label not supported: spec.foo' });
    const badLabel = await failure(core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'a in (b' }));
    expect(badLabel.code).toBe(400);

    const page1 = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'sel', limit: 3 });
    expect(page1.items).toHaveLength(3);
    expect(page1.metadata?._continue).toBeTruthy();
    const page2 = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'sel', limit: 3, _continue: page1.metadata?._continue });
    expect(page2.items.map((i) => i.metadata?.name)).toEqual(['sel-3']);
    expect(page2.metadata?._continue).toBeFalsy();
  });

  it('filters pods by spec.nodeName and status.phase, secrets by type', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'p1' }, spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'busybox' }] } },
    });
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'p2' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
    const onNode = await core.listNamespacedPod({ namespace: ns, fieldSelector: 'spec.nodeName=node-a' });
    expect(onNode.items.map((p) => p.metadata?.name)).toEqual(['p1']);
    const unscheduled = await core.listNamespacedPod({ namespace: ns, fieldSelector: 'spec.nodeName=,status.phase=Pending' });
    expect(unscheduled.items.map((p) => p.metadata?.name)).toEqual(['p2']);
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 's-tls' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'YQ==', 'tls.key': 'Yg==' } },
    });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 's-opaque' }, stringData: { password: 'hunter2' } } });
    const tls = await core.listNamespacedSecret({ namespace: ns, fieldSelector: 'type=kubernetes.io/tls' });
    expect(tls.items.map((s) => s.metadata?.name)).toEqual(['s-tls']);
    const opaque = await core.readNamespacedSecret({ name: 's-opaque', namespace: ns });
    expect(opaque.type).toBe('Opaque');
    expect(opaque.data).toEqual({ password: Buffer.from('hunter2').toString('base64') });
    expect(opaque.stringData).toBeUndefined();
  });

  it('rejects invalid objects with 422 Invalid and causes', async () => {
    const badName = await failure(core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'Not_Valid' } } }));
    expect(badName.code).toBe(422);
    expect(badName.body).toMatchObject({
      reason: 'Invalid',
      details: { name: 'Not_Valid', kind: 'ConfigMap', causes: [expect.objectContaining({ reason: 'FieldValueInvalid', field: 'metadata.name' })] },
    });
    const noImage = await failure(core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'bad-pod' }, spec: { containers: [{ name: 'c' }] } } }));
    expect(noImage.body).toMatchObject({ code: 422, reason: 'Invalid' });
    expect((noImage.body.details as { causes: Array<{ field: string }> }).causes.map((c) => c.field)).toContain('spec.containers[0].image');
    const wrongType = await raw(seed.adminKubeconfig, 'POST', `/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'typed' },
      data: { a: 5 },
    });
    // A value of the wrong JSON type does not decode into the Go types: 400 BadRequest, as the real apiserver answers.
    expect(wrongType.status).toBe(400);
    expect(wrongType.json).toMatchObject({ reason: 'BadRequest' });
    const selectorMismatch = deployment('mismatch');
    selectorMismatch.spec!.selector = { matchLabels: { app: 'other' } };
    const mismatch = await failure(apps.createNamespacedDeployment({ namespace: ns, body: selectorMismatch }));
    expect(mismatch.body).toMatchObject({ code: 422, details: { causes: [expect.objectContaining({ field: 'spec.template.metadata.labels' })] } });
    const badBase64 = await raw(seed.adminKubeconfig, 'POST', `/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'b64' },
      data: { a: 'not base64!' },
    });
    expect(badBase64.status).toBe(400);
  });

  it('rejects unknown fields in Strict mode and warns by default', async () => {
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unknown-field' }, data: { a: 'b' }, bogus: true };
    const strict = await raw(seed.adminKubeconfig, 'POST', `/api/v1/namespaces/${ns}/configmaps?fieldValidation=Strict`, body);
    expect(strict.status).toBe(400);
    expect(strict.json.message).toBe('strict decoding error: unknown field "bogus"');
    const warned = await raw(seed.adminKubeconfig, 'POST', `/api/v1/namespaces/${ns}/configmaps`, body);
    expect(warned.status).toBe(201);
    expect(String(warned.headers.warning)).toContain('unknown field \\"bogus\\"');
    expect(warned.json.bogus).toBeUndefined();
  });

  it('enforces immutable fields', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('immutable') });
    const changed = await failure(
      apps.patchNamespacedDeployment(
        {
          name: 'immutable',
          namespace: ns,
          body: { spec: { selector: { matchLabels: { app: 'immutable', extra: 'x' } }, template: { metadata: { labels: { app: 'immutable', extra: 'x' } } } } },
        },
        mergePatch,
      ),
    );
    expect(changed.code).toBe(422);
    expect(JSON.stringify(changed.body)).toContain('field is immutable');
    const secret = await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'immutable-type' }, type: 'Opaque' } });
    const typeChange = await failure(
      core.replaceNamespacedSecret({ name: 'immutable-type', namespace: ns, body: { ...secret, type: 'kubernetes.io/basic-auth' } }),
    );
    expect(typeChange.code).toBe(422);
  });

  it('keeps status and spec apart with the status subresource, and bumps generation on spec changes only', async () => {
    const created = await apps.createNamespacedDeployment({ namespace: ns, body: { ...deployment('status'), status: { replicas: 99 } } });
    expect(created.metadata?.generation).toBe(1);
    expect(created.status?.replicas).toBeUndefined();
    const withStatus = await apps.replaceNamespacedDeploymentStatus({
      name: 'status',
      namespace: ns,
      body: { ...created, spec: { ...created.spec!, replicas: 7 }, status: { replicas: 1, observedGeneration: 1 } },
    });
    expect(withStatus.status?.replicas).toBe(1);
    expect(withStatus.spec?.replicas).toBe(1);
    expect(withStatus.metadata?.generation).toBe(1);
    const mainUpdate = await apps.replaceNamespacedDeployment({
      name: 'status',
      namespace: ns,
      body: { ...withStatus, spec: { ...withStatus.spec!, replicas: 3 }, status: { replicas: 50 } },
    });
    expect(mainUpdate.spec?.replicas).toBe(3);
    expect(mainUpdate.status?.replicas).toBe(1);
    expect(mainUpdate.metadata?.generation).toBe(2);
    const labelsOnly = await apps.patchNamespacedDeployment({ name: 'status', namespace: ns, body: { metadata: { labels: { extra: 'yes' } } } }, mergePatch);
    expect(labelsOnly.metadata?.generation).toBe(2);
    const scale = await apps.readNamespacedDeploymentScale({ name: 'status', namespace: ns });
    expect(scale.spec?.replicas).toBe(3);
    expect(scale.status?.selector).toBe('app=status');
    await apps.replaceNamespacedDeploymentScale({ name: 'status', namespace: ns, body: { ...scale, spec: { replicas: 5 } } });
    expect((await apps.readNamespacedDeployment({ name: 'status', namespace: ns })).spec?.replicas).toBe(5);
  });

  it('applies merge, JSON and strategic merge patches', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('patched') });
    const merged = await apps.patchNamespacedDeployment(
      { name: 'patched', namespace: ns, body: { metadata: { annotations: { a: 'b' } }, spec: { replicas: 2 } } },
      mergePatch,
    );
    expect(merged.metadata?.annotations).toEqual({ a: 'b' });
    expect(merged.spec?.replicas).toBe(2);
    const strategic = await apps.patchNamespacedDeployment(
      {
        name: 'patched',
        namespace: ns,
        body: {
          spec: {
            template: {
              spec: {
                containers: [
                  { name: 'sidecar', image: 'envoy:1' },
                  { name: 'main', env: [{ name: 'B', value: '2' }] },
                ],
              },
            },
          },
        },
      },
      strategicPatch,
    );
    const containers = strategic.spec?.template.spec?.containers ?? [];
    // Strategic merge puts items the server did not have before the ones it kept, as apimachinery does.
    expect(containers.map((c) => c.name)).toEqual(['sidecar', 'main']);
    expect(containers[1].image).toBe('busybox:1.36');
    expect(containers[1].env).toEqual([
      { name: 'B', value: '2' },
      { name: 'A', value: '1' },
    ]);
    const deleteDirective = await apps.patchNamespacedDeployment(
      { name: 'patched', namespace: ns, body: { spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } } } },
      strategicPatch,
    );
    expect(deleteDirective.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['main']);
    const json = await apps.patchNamespacedDeployment(
      {
        name: 'patched',
        namespace: ns,
        body: [
          { op: 'test', path: '/spec/replicas', value: 2 },
          { op: 'replace', path: '/spec/replicas', value: 4 },
          { op: 'add', path: '/metadata/labels/new', value: 'x' },
        ],
      },
      jsonPatch,
    );
    expect(json.spec?.replicas).toBe(4);
    expect(json.metadata?.labels?.new).toBe('x');
    const failedTest = await failure(
      apps.patchNamespacedDeployment({ name: 'patched', namespace: ns, body: [{ op: 'test', path: '/spec/replicas', value: 1 }] }, jsonPatch),
    );
    expect(failedTest.code).toBe(422);
    const stale = await failure(
      apps.patchNamespacedDeployment({ name: 'patched', namespace: ns, body: { metadata: { resourceVersion: '1' }, spec: { replicas: 9 } } }, mergePatch),
    );
    expect(stale.code).toBe(409);
    const unsupported = await raw(seed.adminKubeconfig, 'PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/patched`, { spec: {} }, 'text/plain');
    expect(unsupported.status).toBe(415);
  });

  it('does server-side apply with managedFields, conflicts and force', async () => {
    const path = `/api/v1/namespaces/${ns}/configmaps/ssa`;
    const applyBody = (data: Record<string, string>) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa' }, data });
    const noManager = await raw(seed.adminKubeconfig, 'PATCH', path, applyBody({ a: '1' }), 'application/apply-patch+yaml');
    expect(noManager.status).toBe(422);
    expect(noManager.json).toMatchObject({
      reason: 'Invalid',
      details: { group: 'meta.k8s.io', kind: 'PatchOptions', causes: [{ reason: 'FieldValueRequired', field: 'fieldManager' }] },
    });
    const first = await raw(seed.adminKubeconfig, 'PATCH', `${path}?fieldManager=alice`, applyBody({ a: '1', b: '1' }), 'application/apply-patch+yaml');
    // An apply that creates the object is answered 201 Created, as the real apiserver does.
    expect(first.status).toBe(201);
    const managed = (first.json.metadata as { managedFields: Array<{ manager: string; operation: string; fieldsV1: unknown }> }).managedFields;
    expect(managed).toEqual([expect.objectContaining({ manager: 'alice', operation: 'Apply', fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} } } })]);
    const shared = await raw(seed.adminKubeconfig, 'PATCH', `${path}?fieldManager=bob`, applyBody({ a: '1' }), 'application/apply-patch+yaml');
    expect(shared.status).toBe(200);
    const conflict = await raw(seed.adminKubeconfig, 'PATCH', `${path}?fieldManager=bob`, applyBody({ a: '2' }), 'application/apply-patch+yaml');
    expect(conflict.status).toBe(409);
    expect(conflict.json).toMatchObject({
      reason: 'Conflict',
      message: 'Apply failed with 1 conflict: conflict with "alice": .data.a',
      details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.data.a' }] },
    });
    const forced = await raw(seed.adminKubeconfig, 'PATCH', `${path}?fieldManager=bob&force=true`, applyBody({ a: '2' }), 'application/apply-patch+yaml');
    expect(forced.status).toBe(200);
    expect(forced.json.data).toEqual({ a: '2', b: '1' });
    const entries = (forced.json.metadata as { managedFields: Array<{ manager: string; fieldsV1: unknown }> }).managedFields;
    expect(entries.find((e) => e.manager === 'alice')?.fieldsV1).toEqual({ 'f:data': { 'f:b': {} } });
    expect(entries.find((e) => e.manager === 'bob')?.fieldsV1).toEqual({ 'f:data': { 'f:a': {} } });
    // Alice drops b from her configuration: the field goes, since nobody else owns it.
    const dropped = await raw(seed.adminKubeconfig, 'PATCH', `${path}?fieldManager=alice`, applyBody({}), 'application/apply-patch+yaml');
    expect(dropped.json.data).toEqual({ a: '2' });
  });

  it('stores ownerReferences but refuses two controllers', async () => {
    const owner = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'owner',
      uid: '6b1e3f8e-0000-4000-8000-000000000001',
      controller: true,
      blockOwnerDeletion: true,
    };
    const owned = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'owned', ownerReferences: [owner] } } });
    expect(owned.metadata?.ownerReferences).toEqual([owner]);
    const twoControllers = await failure(
      core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'owned-twice', ownerReferences: [owner, { ...owner, name: 'other', uid: '6b1e3f8e-0000-4000-8000-000000000002' }] } },
      }),
    );
    expect(twoControllers.code).toBe(422);
  });

  it('handles finalizers and propagation policies on delete', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'fin', finalizers: ['example.com/hold'] } } });
    await core.deleteNamespacedConfigMap({ name: 'fin', namespace: ns });
    const terminating = await core.readNamespacedConfigMap({ name: 'fin', namespace: ns });
    expect(terminating.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    const addFinalizer = await failure(
      core.patchNamespacedConfigMap({ name: 'fin', namespace: ns, body: { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } } }, mergePatch),
    );
    expect(addFinalizer.code).toBe(422);
    await core.patchNamespacedConfigMap({ name: 'fin', namespace: ns, body: { metadata: { finalizers: null } } }, mergePatch);
    expect((await failure(core.readNamespacedConfigMap({ name: 'fin', namespace: ns }))).code).toBe(404);

    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('foreground') });
    await apps.deleteNamespacedDeployment({ name: 'foreground', namespace: ns, body: { propagationPolicy: 'Foreground' } });
    expect((await apps.readNamespacedDeployment({ name: 'foreground', namespace: ns })).metadata?.finalizers).toEqual(['foregroundDeletion']);
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('orphan') });
    await apps.deleteNamespacedDeployment({ name: 'orphan', namespace: ns, propagationPolicy: 'Orphan' });
    expect((await apps.readNamespacedDeployment({ name: 'orphan', namespace: ns })).metadata?.finalizers).toEqual(['orphan']);
  });

  it('terminates namespaces through the finalize subresource', async () => {
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'x' } } });
    await core.deleteNamespace({ name: 'doomed' });
    const terminating = await core.readNamespace({ name: 'doomed' });
    expect(terminating.status?.phase).toBe('Terminating');
    expect(terminating.spec?.finalizers).toEqual(['kubernetes']);
    const refused = await failure(core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'y' } } }));
    expect(refused.code).toBe(403);
    expect(refused.body).toMatchObject({ reason: 'Forbidden', details: { causes: [expect.objectContaining({ reason: 'NamespaceTerminating' })] } });
    await core.replaceNamespaceFinalize({ name: 'doomed', body: { ...terminating, spec: { finalizers: [] } } });
    expect((await failure(core.readNamespace({ name: 'doomed' }))).code).toBe(404);
    const immortal = await failure(core.deleteNamespace({ name: 'kube-system' }));
    expect(immortal.body).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message: 'namespaces "kube-system" is forbidden: this namespace may not be deleted',
    });
  });

  it('allocates ClusterIPs and node ports and detects conflicts', async () => {
    const svc = await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'np' }, spec: { type: 'NodePort', selector: { app: 'x' }, ports: [{ port: 80 }] } },
    });
    expect(svc.spec?.clusterIP).toMatch(/^10\.(9[6-9]|1[01][0-9])\./);
    const nodePort = svc.spec?.ports?.[0].nodePort as number;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    expect(nodePort).toBeLessThanOrEqual(32767);
    expect(svc.spec?.ports?.[0].targetPort).toBe(80);
    const clash = await failure(
      core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'np2' }, spec: { type: 'LoadBalancer', ports: [{ port: 80, nodePort }] } } }),
    );
    expect(clash.code).toBe(422);
    expect(JSON.stringify(clash.body)).toContain('provided port is already allocated');
    const outOfRange = await failure(
      core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'np3' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] } } }),
    );
    expect(outOfRange.code).toBe(422);
    const lb = await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'lb' }, spec: { type: 'LoadBalancer', ports: [{ port: 443 }] } },
    });
    expect(lb.spec?.ports?.[0].nodePort).toBeGreaterThanOrEqual(30000);
    const ipChange = await failure(core.patchNamespacedService({ name: 'lb', namespace: ns, body: { spec: { clusterIP: '10.96.0.200' } } }, mergePatch));
    expect(ipChange.code).toBe(422);
  });

  it('sets CSR requester fields from the authenticated user and approves through /approval', async () => {
    const csr = await certificates.createCertificateSigningRequest({
      body: {
        metadata: { name: 'csr-1' },
        spec: {
          request: Buffer.from('-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n').toString('base64'),
          signerName: 'kubernetes.io/kube-apiserver-client',
          usages: ['client auth'],
          username: 'forged',
          groups: ['system:masters-forged'],
        },
      },
    });
    expect(csr.spec.username).toBe('kubernetes-admin');
    expect(csr.spec.groups).toEqual(['system:masters', 'system:authenticated']);
    const noSpecChange = await certificates.replaceCertificateSigningRequest({
      name: 'csr-1',
      body: { ...csr, spec: { ...csr.spec, usages: ['server auth'] } },
    });
    expect(noSpecChange.spec.usages).toEqual(['client auth']);
    const viaStatus = await failure(
      certificates.replaceCertificateSigningRequestStatus({
        name: 'csr-1',
        body: { ...csr, status: { conditions: [{ type: 'Approved', status: 'True', reason: 'x', message: 'y' }] } },
      }),
    );
    expect(viaStatus.code).toBe(422);
    const garbageCertificate = await failure(
      certificates.replaceCertificateSigningRequestStatus({
        name: 'csr-1',
        body: { ...csr, status: { certificate: Buffer.from('not a certificate').toString('base64') } },
      }),
    );
    expect(garbageCertificate.code).toBe(422);
    const approved = await certificates.replaceCertificateSigningRequestApproval({
      name: 'csr-1',
      body: { ...csr, status: { conditions: [{ type: 'Approved', status: 'True', reason: 'Test', message: 'ok' }] } },
    });
    expect(approved.status?.conditions?.[0]).toMatchObject({ type: 'Approved', status: 'True' });
    expect(approved.status?.conditions?.[0].lastUpdateTime).toBeInstanceOf(Date);
  });

  it('binds pods to nodes once, through pods/binding and bindings', async () => {
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'b1' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'b2' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
    await core.createNamespacedPodBinding({ name: 'b1', namespace: ns, body: { metadata: { name: 'b1' }, target: { kind: 'Node', name: 'node-b' } } });
    await core.createNamespacedBinding({ namespace: ns, body: { metadata: { name: 'b2' }, target: { kind: 'Node', name: 'node-c' } } });
    expect((await core.readNamespacedPod({ name: 'b1', namespace: ns })).spec?.nodeName).toBe('node-b');
    const bound = await core.readNamespacedPod({ name: 'b2', namespace: ns });
    expect(bound.spec?.nodeName).toBe('node-c');
    expect(bound.status?.conditions).toEqual([expect.objectContaining({ type: 'PodScheduled', status: 'True' })]);
    const again = await failure(
      core.createNamespacedPodBinding({ name: 'b1', namespace: ns, body: { metadata: { name: 'b1' }, target: { kind: 'Node', name: 'node-c' } } }),
    );
    expect(again.code).toBe(409);
    const direct = await failure(core.patchNamespacedPod({ name: 'b1', namespace: ns, body: { spec: { nodeName: 'elsewhere' } } }, mergePatch));
    expect(direct.code).toBe(422);
  });

  it('evicts pods honouring PodDisruptionBudgets', async () => {
    for (const name of ['e1', 'e2']) {
      await core.createNamespacedPod({
        namespace: ns,
        body: { metadata: { name, labels: { app: 'evict' } }, spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'busybox' }] } },
      });
      const pod = await core.readNamespacedPod({ name, namespace: ns });
      await core.replaceNamespacedPodStatus({
        name,
        namespace: ns,
        body: { ...pod, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
      });
    }
    await kc.makeApiClient(k8s.PolicyV1Api).createNamespacedPodDisruptionBudget({
      namespace: ns,
      body: { metadata: { name: 'pdb' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'evict' } } } },
    });
    const blocked = await raw(seed.adminKubeconfig, 'POST', `/api/v1/namespaces/${ns}/pods/e1/eviction`, {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'e1', namespace: ns },
    });
    expect(blocked.status).toBe(429);
    expect(blocked.json).toMatchObject({
      reason: 'TooManyRequests',
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget pdb needs 2 healthy pods and has 2 currently' }] },
    });
    await kc.makeApiClient(k8s.PolicyV1Api).patchNamespacedPodDisruptionBudget({ name: 'pdb', namespace: ns, body: { spec: { minAvailable: 1 } } }, mergePatch);
    const allowed = await raw(seed.adminKubeconfig, 'POST', `/api/v1/namespaces/${ns}/pods/e1/eviction`, {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'e1', namespace: ns },
    });
    expect(allowed.status).toBe(201);
    // A scheduled pod is deleted gracefully: the kubelet finishes with gracePeriodSeconds=0.
    const evicted = await core.readNamespacedPod({ name: 'e1', namespace: ns });
    expect(evicted.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    await core.deleteNamespacedPod({ name: 'e1', namespace: ns, gracePeriodSeconds: 0 });
    expect((await failure(core.readNamespacedPod({ name: 'e1', namespace: ns }))).code).toBe(404);

    // An unready pod (IfHealthyBudget, the default) goes only while the budget is met: here no
    // pod is healthy, so e2, still starting, stays.
    const e2 = await core.readNamespacedPod({ name: 'e2', namespace: ns });
    await core.replaceNamespacedPodStatus({
      name: 'e2',
      namespace: ns,
      body: { ...e2, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] } },
    });
    const evictE2 = () =>
      raw(seed.adminKubeconfig, 'POST', `/api/v1/namespaces/${ns}/pods/e2/eviction`, {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: 'e2', namespace: ns },
      });
    const unready = await evictE2();
    expect(unready.status).toBe(429);
    expect(unready.json).toMatchObject({
      details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget pdb needs 1 healthy pods and has 0 currently' }] },
    });
    await kc
      .makeApiClient(k8s.PolicyV1Api)
      .patchNamespacedPodDisruptionBudget({ name: 'pdb', namespace: ns, body: { spec: { unhealthyPodEvictionPolicy: 'AlwaysAllow' } } }, mergePatch);
    expect((await evictE2()).status).toBe(201);
  });

  it('watches with resume, bookmarks, selectors and 410 Gone for expired versions', async () => {
    const watch = new k8s.Watch(kc);
    const start = await core.listNamespacedConfigMap({ namespace: ns });
    const events: Array<{ type: string; name?: string; rv?: string }> = [];
    const controller = await watch.watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { resourceVersion: start.metadata?.resourceVersion, allowWatchBookmarks: true, labelSelector: 'watched=yes' },
      (type, object: k8s.V1ConfigMap) => events.push({ type, name: object.metadata?.name, rv: object.metadata?.resourceVersion }),
      () => undefined,
    );
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'w1', labels: { watched: 'yes' } } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'w-ignored' } } });
    await core.patchNamespacedConfigMap({ name: 'w1', namespace: ns, body: { data: { a: 'b' } } }, mergePatch);
    await core.patchNamespacedConfigMap({ name: 'w1', namespace: ns, body: { metadata: { labels: { watched: 'no' } } } }, mergePatch);
    await eventually(
      () => events.some((e) => e.type === 'BOOKMARK') && events.filter((e) => e.type !== 'BOOKMARK').length >= 3,
      'a bookmark and three changes on the watch',
      10_000,
      50,
    );
    controller.abort();
    const changes = events.filter((e) => e.type !== 'BOOKMARK');
    expect(changes.map((e) => `${e.type}:${e.name}`)).toEqual(['ADDED:w1', 'MODIFIED:w1', 'DELETED:w1']);

    // Resume from the first event: only what came after it is replayed.
    const resumed: string[] = [];
    const again = await watch.watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { resourceVersion: changes[0].rv },
      (type, object: k8s.V1ConfigMap) => resumed.push(`${type}:${object.metadata?.name}`),
      () => undefined,
    );
    await eventually(() => resumed.length >= 3, 'three events on the resumed watch', 10_000, 50);
    again.abort();
    expect(resumed.slice(0, 3)).toEqual(['ADDED:w-ignored', 'MODIFIED:w1', 'MODIFIED:w1']);

    const { MemoryStorage } = await import('../../../services/sandbox/src/kubesim/storage/memory.js');
    expect(seed.storage).toBeInstanceOf(MemoryStorage);
    (seed.storage as InstanceType<typeof MemoryStorage>).compact(Number(changes[2].rv));
    const gone = await raw(seed.adminKubeconfig, 'GET', `/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${changes[0].rv}`);
    // As the watch cache answers: the stream starts, and its one event is the 410 Expired.
    expect(gone.status).toBe(200);
    expect(gone.json).toMatchObject({ type: 'ERROR', object: { kind: 'Status', reason: 'Expired', code: 410 } });
    let doneError: unknown;
    await watch.watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { resourceVersion: changes[0].rv },
      () => undefined,
      (err) => {
        doneError = err;
      },
    );
    await eventually(() => doneError !== undefined, 'the watch from a compacted version to end with an error', 10_000, 50);
  });

  it('issues service-account tokens that authenticate as the service account', async () => {
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'robot' } } });
    const short = await failure(
      core.createNamespacedServiceAccountToken({ name: 'robot', namespace: ns, body: { spec: { audiences: [], expirationSeconds: 60 } } }),
    );
    expect(short.code).toBe(422);
    const missing = await failure(core.createNamespacedServiceAccountToken({ name: 'nobody', namespace: ns, body: { spec: { audiences: [] } } }));
    expect(missing.code).toBe(404);
    const issued = await core.createNamespacedServiceAccountToken({ name: 'robot', namespace: ns, body: { spec: { audiences: [] } } });
    const token = issued.status?.token as string;
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({
      iss: 'https://kubernetes.default.svc.cluster.local',
      sub: `system:serviceaccount:${ns}:robot`,
      aud: ['https://kubernetes.default.svc.cluster.local'],
    });
    const tokenConfig = seed.kubeconfig({ token }, seed.caPem);
    const whoami = await raw(tokenConfig, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
    });
    expect(whoami.status).toBe(201);
    expect(whoami.json.status).toMatchObject({
      userInfo: {
        username: `system:serviceaccount:${ns}:robot`,
        groups: expect.arrayContaining(['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated']) as unknown,
      },
    });
  });

  it('supports dryRun, deletecollection and watch-list initial events', async () => {
    const dry = await raw(seed.adminKubeconfig, 'POST', `/api/v1/namespaces/${ns}/configmaps?dryRun=All`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'dry' },
    });
    expect(dry.status).toBe(201);
    expect((await failure(core.readNamespacedConfigMap({ name: 'dry', namespace: ns }))).code).toBe(404);
    for (const name of ['dc-1', 'dc-2']) await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, labels: { batch: 'dc' } } } });
    const watchList = await raw(
      seed.adminKubeconfig,
      'GET',
      `/api/v1/namespaces/${ns}/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=batch%3Ddc&timeoutSeconds=1`,
    );
    const events = watchList.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; object: { metadata: { name?: string; annotations?: Record<string, string> } } });
    expect(events.slice(0, 3).map((e) => `${e.type}:${e.object.metadata.name ?? ''}`)).toEqual(['ADDED:dc-1', 'ADDED:dc-2', 'BOOKMARK:']);
    expect(events[2].object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
    await core.deleteCollectionNamespacedConfigMap({ namespace: ns, labelSelector: 'batch=dc' });
    expect((await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'batch=dc' })).items).toEqual([]);
  });

  it('answers 401 without credentials and serves self subject access reviews', async () => {
    const anonymous = await raw(
      seed.adminKubeconfig.replace(/client-certificate-data: .*\n/, '').replace(/client-key-data: .*\n/, ''),
      'GET',
      '/api/v1/namespaces',
    );
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    const review = await kc
      .makeApiClient(k8s.AuthorizationV1Api)
      .createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { verb: 'create', resource: 'pods', namespace: ns } } } });
    expect(review.status?.allowed).toBe(true);
  });
});
