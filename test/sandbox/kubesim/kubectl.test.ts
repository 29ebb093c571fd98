import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authorizer, RequestAttributes } from '../../../services/sandbox/src/kubesim/contracts.js';
import { createSeed, type SeedHandle } from '../../../services/sandbox/src/kubesim/index.js';
import { ClientCertificateAuthenticator } from '../../../services/sandbox/src/kubesim/server/builtin-auth.js';
import { raw } from './helpers.js';
import { eventually, scaled, scaledSeconds } from '../../support/time.js';

const run = promisify(execFile);

/** Admins may do anything; "viewer" may only read; everyone else gets no opinion. */
class TestAuthorizer implements Authorizer {
  async authorize(attributes: RequestAttributes) {
    if (attributes.user.groups.includes('system:masters')) return { decision: 'allow' as const, reason: '' };
    if (
      attributes.user.username === 'viewer' &&
      (['get', 'list', 'watch'].includes(attributes.verb) || (attributes.verb === 'create' && attributes.resource === 'selfsubjectaccessreviews'))
    ) {
      return { decision: 'allow' as const, reason: '' };
    }
    if (attributes.user.username === 'role-writer') {
      const writesRbac = ['create', 'update', 'patch'].includes(attributes.verb) && ['roles', 'rolebindings'].includes(attributes.resource);
      const readsPods = attributes.verb === 'get' && attributes.resource === 'pods' && attributes.apiGroup === '';
      if (writesRbac || readsPods) return { decision: 'allow' as const, reason: '' };
    }
    return { decision: 'no-opinion' as const, reason: '' };
  }
}

let seed: SeedHandle;
let dir: string;
let admin: string;
let viewer: string;

async function kubectl(kubeconfig: string, ...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run('/usr/bin/kubectl', ['--kubeconfig', kubeconfig, ...args], {
      cwd: dir,
      timeout: scaled(30_000),
      env: { ...process.env, HOME: dir },
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

function manifest(replicas: number, value: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: {app: web}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
        env: [{name: MODE, value: "${value}"}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: default}
data: {level: "${value}"}
`;
}

beforeAll(async () => {
  seed = await createSeed({ authenticators: [new ClientCertificateAuthenticator()], authorizers: [new TestAuthorizer()], bookmarkIntervalMs: 500 });
  dir = mkdtempSync(join(tmpdir(), 'kubesim-kubectl-'));
  admin = join(dir, 'admin.kubeconfig');
  viewer = join(dir, 'viewer.kubeconfig');
  writeFileSync(admin, seed.adminKubeconfig);
  writeFileSync(viewer, await seed.userKubeconfig('viewer', ['readers']));
});

afterAll(async () => {
  await seed?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('real kubectl against kubesim', () => {
  it('applies a manifest client-side, twice, and reads it back as YAML', async () => {
    writeFileSync(join(dir, 'app.yaml'), manifest(2, 'one'));
    const first = await kubectl(admin, 'apply', '-f', 'app.yaml');
    expect(first.stderr).toBe('');
    expect(first.stdout).toContain('deployment.apps/web created');
    expect(first.stdout).toContain('configmap/settings created');
    const before = await kubectl(admin, 'get', 'deployment', 'web', '-o', 'jsonpath={.metadata.resourceVersion}');
    const second = await kubectl(admin, 'apply', '-f', 'app.yaml');
    expect(second.stdout).toContain('deployment.apps/web unchanged');
    const after = await kubectl(admin, 'get', 'deployment', 'web', '-o', 'jsonpath={.metadata.resourceVersion}');
    expect(after.stdout).toBe(before.stdout);

    writeFileSync(join(dir, 'app.yaml'), manifest(3, 'two'));
    const changed = await kubectl(admin, 'apply', '-f', 'app.yaml');
    expect(changed.stdout).toContain('deployment.apps/web configured');
    const yaml = await kubectl(admin, 'get', 'deployment', 'web', '-o', 'yaml');
    expect(yaml.stdout).toContain('replicas: 3');
    expect(yaml.stdout).toContain('value: two');
    expect(yaml.stdout).toContain('generation: 2');
    expect(yaml.stdout).toContain('kubectl.kubernetes.io/last-applied-configuration');
    // Server-side printing: kubectl asks for a Table and shows the real columns.
    const table = await kubectl(admin, 'get', 'deployments,services,configmaps', '-n', 'default');
    expect(table.stdout).toMatch(/NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\ndeployment\.apps\/web\s+0\/3\s+0\s+0\s+\d+s/);
    expect(table.stdout).toMatch(/service\/kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP/);
    expect(table.stdout).toMatch(/configmap\/settings\s+1\s+\d+s/);
  });

  it('rejects unknown fields through server-side field validation', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad, namespace: default}\ndata: {a: b}\nbogus: 1\n');
    const result = await kubectl(admin, 'apply', '-f', 'bad.yaml');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('unknown field "bogus"');
  });

  it('reports server-side apply conflicts and forces them', async () => {
    writeFileSync(join(dir, 'ssa.yaml'), manifest(5, 'two'));
    const conflict = await kubectl(admin, 'apply', '--server-side', '-f', 'ssa.yaml');
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
    const forced = await kubectl(admin, 'apply', '--server-side', '--force-conflicts', '-f', 'ssa.yaml');
    expect(forced.stdout).toContain('deployment.apps/web serverside-applied');
    const replicas = await kubectl(admin, 'get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas}');
    expect(replicas.stdout).toBe('5');
  });

  it('waits for a condition set through the status subresource', async () => {
    const waiting = spawn(
      '/usr/bin/kubectl',
      ['--kubeconfig', admin, 'wait', '--for=condition=Available', 'deployment/web', `--timeout=${scaledSeconds(20)}s`],
      { env: { ...process.env, HOME: dir } },
    );
    const output: string[] = [];
    waiting.stdout.on('data', (c: Buffer) => output.push(c.toString()));
    const exited = new Promise<number | null>((resolve) => waiting.on('exit', resolve));
    await new Promise((r) => setTimeout(r, 500));
    const status =
      '{"status":{"conditions":[{"type":"Available","status":"True","reason":"MinimumReplicasAvailable","message":"ready","lastUpdateTime":"2024-01-01T00:00:00Z","lastTransitionTime":"2024-01-01T00:00:00Z"}]}}';
    const patched = await kubectl(admin, 'patch', 'deployment', 'web', '--subresource=status', '--type=merge', '-p', status);
    expect(patched.stdout).toContain('patched');
    expect(await exited).toBe(0);
    expect(output.join('')).toContain('deployment.apps/web condition met');
  });

  it('streams changes with get --watch', async () => {
    const watching = spawn('/usr/bin/kubectl', ['--kubeconfig', admin, 'get', 'configmaps', '--watch', '-o', 'name'], { env: { ...process.env, HOME: dir } });
    let output = '';
    const seen = (text: string) => eventually(() => output.includes(text), `kubectl get --watch to print ${text}`, 30_000, 50);
    watching.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    try {
      await seen('configmap/settings');
      writeFileSync(join(dir, 'watched.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched, namespace: default}\n');
      await kubectl(admin, 'apply', '-f', 'watched.yaml');
      await seen('configmap/watched');
    } finally {
      watching.kill();
    }
    expect(output.split('\n').filter(Boolean)).toEqual(expect.arrayContaining(['configmap/settings', 'configmap/watched']));
  });

  it('denies with the real Forbidden message and answers auth can-i', async () => {
    const denied = await kubectl(viewer, 'delete', 'configmap', 'settings');
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(
      'configmaps "settings" is forbidden: User "viewer" cannot delete resource "configmaps" in API group "" in the namespace "default"',
    );
    const canList = await kubectl(viewer, 'auth', 'can-i', 'list', 'pods');
    expect(canList.stdout.trim()).toBe('yes');
    const canDelete = await kubectl(viewer, 'auth', 'can-i', 'delete', 'pods', '-n', 'kube-system');
    expect(canDelete.stdout.trim()).toBe('no');
    expect(canDelete.code).toBe(1);
  });

  it('prevents RBAC escalation through roles and bindings', async () => {
    const writer = await seed.userKubeconfig('role-writer');
    const role = (verbs: string[]) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: `pods-${verbs.join('-')}`, namespace: 'default' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs }],
    });
    const allowed = await raw(writer, 'POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', role(['get']));
    expect(allowed.status).toBe(201);
    const escalating = await raw(writer, 'POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', role(['get', 'delete']));
    expect(escalating.status).toBe(403);
    expect(escalating.json.message).toContain(
      'roles.rbac.authorization.k8s.io "pods-get-delete" is forbidden: user "role-writer" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:',
    );
    const binding = (roleRef: { kind: string; name: string }) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `bind-${roleRef.name}`, namespace: 'default' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'someone' }],
    });
    expect(
      (await raw(writer, 'POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', binding({ kind: 'Role', name: 'pods-get' }))).status,
    ).toBe(201);
    await raw(seed.adminKubeconfig, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'everything' },
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
    });
    const escalatingBinding = await raw(
      writer,
      'POST',
      '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings',
      binding({ kind: 'ClusterRole', name: 'everything' }),
    );
    expect(escalatingBinding.status).toBe(403);
  });

  it('creates objects with the typed (protobuf) create commands', async () => {
    expect((await kubectl(admin, 'create', 'namespace', 'typed')).stdout).toContain('namespace/typed created');
    expect((await kubectl(admin, 'create', 'configmap', 'typed-cm', '-n', 'typed', '--from-literal=a=b')).stdout).toContain('configmap/typed-cm created');
    expect((await kubectl(admin, 'create', 'secret', 'generic', 'typed-secret', '-n', 'typed', '--from-literal=pw=hunter2')).stdout).toContain(
      'secret/typed-secret created',
    );
    expect((await kubectl(admin, 'create', 'rolebinding', 'typed-rb', '-n', 'typed', '--clusterrole=view', '--user=bob')).stdout).toContain(
      'rolebinding.rbac.authorization.k8s.io/typed-rb created',
    );
    expect((await kubectl(admin, 'get', 'configmap', 'typed-cm', '-n', 'typed', '-o', 'jsonpath={.data.a}')).stdout).toBe('b');
    expect((await kubectl(admin, 'get', 'secret', 'typed-secret', '-n', 'typed', '-o', 'jsonpath={.data.pw}')).stdout).toBe(
      Buffer.from('hunter2').toString('base64'),
    );
    expect((await kubectl(admin, 'get', 'rolebinding', 'typed-rb', '-n', 'typed', '-o', 'jsonpath={.subjects[0].name}/{.roleRef.name}')).stdout).toBe(
      'bob/view',
    );
    expect((await kubectl(admin, 'create', 'serviceaccount', 'bot', '-n', 'typed')).stdout).toContain('serviceaccount/bot created');
    const token = await kubectl(admin, 'create', 'token', 'bot', '-n', 'typed', '--duration=20m');
    expect(token.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const invalid = await kubectl(admin, 'create', 'configmap', 'Bad_Name', '-n', 'typed');
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain('is invalid');
  });

  it('deletes what it applied', async () => {
    const deleted = await kubectl(admin, 'delete', '-f', 'app.yaml');
    expect(deleted.stdout).toContain('deployment.apps "web" deleted');
    expect(deleted.stdout).toContain('configmap "settings" deleted');
    const gone = await kubectl(admin, 'get', 'deployment', 'web');
    expect(gone.stderr).toContain('deployments.apps "web" not found');
  });
});
