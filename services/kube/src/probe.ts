// GET /readyz (or any path) with the credentials of a kubeconfig, for health checks that must
// go through the same endpoint and TLS chain users get.
import { request } from 'node:https';
import { kubeConfigFromYaml } from './client.js';

export interface ProbeResult {
  ok: boolean;
  status: number;
  body: string;
  /** Set when no HTTP answer came back at all. */
  error?: string;
}

function decode(data: string | undefined): string | undefined {
  return data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
}

export async function probeEndpoint(kubeconfigYaml: string, path = '/readyz', timeoutMs = 3_000): Promise<ProbeResult> {
  const config = kubeConfigFromYaml(kubeconfigYaml);
  const cluster = config.getCurrentCluster();
  const user = config.getCurrentUser();
  if (!cluster) return { ok: false, status: 0, body: '', error: 'the kubeconfig has no current cluster' };
  const url = new URL(path, cluster.server);
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'GET',
        ca: decode(cluster.caData),
        cert: decode(user?.certData),
        key: decode(user?.keyData),
        headers: user?.token ? { authorization: `Bearer ${user.token}` } : {},
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 4_096) body += chunk;
        });
        res.on('end', () => resolve({ ok: res.statusCode === 200, status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ ok: false, status: 0, body: '', error: error.message.slice(0, 300) }));
    req.end();
  });
}
