// Loading user-supplied kubeconfigs and talking to an API server's /version. Used to admit
// seeds and to check their health.
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { DomainError, invalid } from '../../core/src/index.js';

export function parseKubeconfig(text: string): KubeConfig {
  const config = new KubeConfig();
  try {
    config.loadFromString(text);
  } catch (error) {
    throw invalid('invalid_kubeconfig', `kubeconfig could not be parsed: ${error instanceof Error ? error.message.split('\n')[0] : 'unknown error'}`);
  }
  const cluster = config.getCurrentCluster();
  if (!cluster || !config.getCurrentUser()) throw invalid('invalid_kubeconfig', 'kubeconfig needs a current-context with a cluster and a user');
  if (!cluster.server.startsWith('https://')) throw invalid('invalid_kubeconfig', 'the kubeconfig server must be an https:// URL');
  return config;
}

export interface ApiServerVersion {
  gitVersion: string;
  serverUrl: string;
}

export async function probeApiServer(config: KubeConfig, timeoutMs = 5_000): Promise<ApiServerVersion> {
  // eslint-disable-next-line @typescript-eslint/no-non-null-assertion -- callers build the config around a current cluster
  const serverUrl = config.getCurrentCluster()!.server;
  const api = config.makeApiClient(VersionApi);
  let timer: NodeJS.Timeout | undefined;
  try {
    const version = await Promise.race([
      api.getCode(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { gitVersion: version.gitVersion, serverUrl };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0].slice(0, 300) : 'unknown error';
    throw new DomainError('validation', 'seed_unreachable', `the API server at ${serverUrl} did not answer /version: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
}
