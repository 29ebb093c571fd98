import { request as httpsRequest } from 'node:https';
import { parse as parseYaml } from 'yaml';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
}

interface KubeconfigCredentials {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
}

export function credentialsOf(kubeconfig: string): KubeconfigCredentials {
  const doc = parseYaml(kubeconfig) as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority-data'?: string } }>;
    users: Array<{ user: { 'client-certificate-data'?: string; 'client-key-data'?: string; token?: string } }>;
  };
  const cluster = doc.clusters[0].cluster;
  const user = doc.users[0].user;
  const decode = (value?: string) => (value ? Buffer.from(value, 'base64') : undefined);
  return {
    server: cluster.server,
    ca: decode(cluster['certificate-authority-data']),
    cert: decode(user['client-certificate-data']),
    key: decode(user['client-key-data']),
    token: user.token,
  };
}

/** A raw HTTPS request with the kubeconfig's credentials, to look at status codes, headers and bodies. */
export function raw(
  kubeconfig: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  extraHeaders: Record<string, string> = {},
): Promise<RawResponse> {
  const creds = credentialsOf(kubeconfig);
  const url = new URL(path, creds.server);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca: creds.ca,
        cert: creds.cert,
        key: creds.key,
        headers: {
          ...(payload !== undefined ? { 'Content-Type': contentType } : {}),
          ...(creds.token ? { Authorization: `Bearer ${creds.token}` } : {}),
          ...extraHeaders,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: Record<string, unknown>;
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = {};
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
