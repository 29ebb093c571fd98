// A kubesim apiserver set up as a tenant cluster nodes can join: the bootstrap objects Harbormaster
// creates (cluster-info, kubeadm-config, RBAC) and the controllers the join needs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildBootstrapTokenSecret,
  formatBootstrapToken,
  generateBootstrapToken,
  type BootstrapToken,
} from '../../services/core/src/bootstrap/bootstrap-token.js';
import { buildNodeUserData, type NodeUserDataInput } from '../../services/core/src/bootstrap/cloud-init.js';
import { buildTenantBootstrapObjects } from '../../services/core/src/bootstrap/tenant-objects.js';
import { discoveryTokenCaCertHash } from '../../services/core/src/pki/discovery.js';
import { createSeed, type CertificateAuthority, type KubeSimOptions, type SeedHandle } from '../../services/sandbox/src/kubesim/index.js';
import { KubeClient } from '../../services/sandbox/src/kubesim/controllers/client.js';
import { startControllers, type ControllerOptions } from '../../services/sandbox/src/kubesim/controllers/roles.js';

const PLURALS: Record<string, string> = {
  ConfigMap: 'configmaps',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Secret: 'secrets',
};

export const TENANT_POD_CIDR = '10.244.0.0/16';

export interface KubesimTenant {
  seed: SeedHandle;
  admin: KubeClient;
  addToken(expiresAt?: Date): Promise<BootstrapToken>;
  /** User data of a node joining this tenant with `token`; the rest of the input may be overridden. */
  userData(token: BootstrapToken, input: Partial<NodeUserDataInput> & { nodeName: string }): string;
  close(): Promise<void>;
}

export async function startKubesimTenant(
  dir: string,
  controllers: ControllerOptions,
  seedOptions: Partial<KubeSimOptions> = {},
  ca?: CertificateAuthority,
): Promise<KubesimTenant> {
  const seed = await createSeed({ authorizationModes: ['Node', 'RBAC'], enableBootstrapTokenAuth: true, anonymous: true, ...seedOptions }, ca);
  const kubeconfigPath = join(dir, 'admin.conf');
  writeFileSync(kubeconfigPath, seed.adminKubeconfig);
  const admin = await KubeClient.fromFile(kubeconfigPath);
  const createObject = async (object: { kind: string; metadata: { name?: string; namespace?: string } }): Promise<void> => {
    const group = object.kind.startsWith('Cluster') || object.kind.startsWith('Role') ? '/apis/rbac.authorization.k8s.io/v1' : '/api/v1';
    const namespace = object.metadata.namespace ? `/namespaces/${object.metadata.namespace}` : '';
    await admin.request('POST', `${group}${namespace}/${PLURALS[object.kind]}`, object);
  };
  const spec = {
    clusterId: 'tenant1',
    clusterName: 'tenant1',
    version: '1.36.3',
    serviceCidr: '10.96.0.0/12',
    podCidr: TENANT_POD_CIDR,
    expose: { strategy: 'NodePort' as const },
    endpoint: { host: '127.0.0.1', port: seed.port },
  };
  // The kubernetes Service endpoints are not part of joining; kubesim already owns default/kubernetes.
  for (const object of buildTenantBootstrapObjects(spec, seed.caPem))
    if (PLURALS[object.kind]) await createObject(object as { kind: string; metadata: { name: string } });
  const stopControllers = await startControllers(kubeconfigPath, { clusterSigningCertPem: seed.caPem, clusterSigningKeyPem: seed.caKeyPem, ...controllers });
  return {
    seed,
    admin,
    addToken: async (expiresAt) => {
      const token = generateBootstrapToken();
      await createObject(
        buildBootstrapTokenSecret({ token, ...(expiresAt ? { expiresAt } : {}) }) as { kind: string; metadata: { name: string; namespace: string } },
      );
      return token;
    },
    userData: (token, input) =>
      buildNodeUserData({
        kubernetesVersion: '1.36.3',
        apiServerEndpoint: `127.0.0.1:${seed.port}`,
        bootstrapToken: formatBootstrapToken(token),
        caCertHash: discoveryTokenCaCertHash(seed.caPem),
        labels: {},
        taints: [],
        sshPublicKeys: [],
        ...input,
      }),
    close: async () => {
      await stopControllers();
      await seed.close();
    },
  };
}
