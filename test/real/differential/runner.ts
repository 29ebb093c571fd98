// Sends the corpus to one server, in order, filling each step's placeholders from that server's
// own earlier answers.
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { issueCertificate, type CertificateAuthority } from '../../../services/sandbox/src/kubesim/index.js';
import { send, type Identity, type WireResponse } from './client.js';
import type { FromBody, IdentityName, Step } from './corpus.js';
import type { DiffServer } from './servers.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export type Identities = Record<IdentityName, Identity>;

export async function identities(ca: CertificateAuthority): Promise<Identities> {
  const cert = async (commonName: string, organizations: string[]): Promise<Identity> => {
    const pair = await issueCertificate(ca, { commonName, organizations, client: true });
    return { kind: 'cert', certPem: pair.certPem, keyPem: pair.keyPem };
  };
  return {
    admin: await cert('kubernetes-admin', ['system:masters']),
    alice: await cert('alice', ['diff-users']),
    'node-a': await cert('system:node:node-a', ['system:nodes']),
    'node-b': await cert('system:node:node-b', ['system:nodes']),
    bootstrap: { kind: 'token', token: 'abcdef.0123456789abcdef' },
    'bootstrap-wrong': { kind: 'token', token: 'abcdef.0000000000000000' },
    'bootstrap-expired': { kind: 'token', token: 'zzzzzz.0123456789abcdef' },
    anonymous: { kind: 'anonymous' },
    'bad-token': { kind: 'token', token: 'not-a-known-token' },
  };
}

/** One PKCS#10 request per common name the corpus names ({{csr:CN}}), shared by both servers. */
export async function certificateRequests(steps: Step[]): Promise<Map<string, string>> {
  const names = new Set<string>();
  for (const step of steps) for (const match of JSON.stringify(step.body ?? '').matchAll(/\{\{csr:([^}]+)\}\}/g)) names.add(match[1]);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const out = new Map<string, string>();
  for (const name of names) {
    const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
    const subject = name.startsWith('system:node:') ? `CN=${name}, O=system:nodes` : name === 'masters-user' ? `CN=${name}, O=system:masters` : `CN=${name}`;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject, keys, signingAlgorithm: algorithm });
    out.set(name, Buffer.from(csr.toString('pem')).toString('base64'));
  }
  return out;
}

export interface Answer {
  step: Step;
  response: WireResponse;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(target: unknown, patch: unknown): unknown {
  if (!isRecord(target) || !isRecord(patch)) return patch;
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) out[key] = deepMerge(target[key], value);
  return out;
}

export async function runCorpus(server: DiffServer, steps: Step[], who: Identities, csrs: Map<string, string>): Promise<Map<string, Answer>> {
  const answers = new Map<string, Answer>();
  const metadataOf = (id: string): Record<string, unknown> => {
    const body = answers.get(id)?.response.body;
    if (!answers.has(id)) throw new Error(`step refers to ${id}, which has not run`);
    return isRecord(body) && isRecord(body.metadata) ? body.metadata : {};
  };
  const fill = (text: string): string =>
    text.replace(/\{\{(rv|continue|name|uid|csr):([^}]+)\}\}/g, (_, what: string, ref: string) => {
      if (what === 'csr') return csrs.get(ref) ?? '';
      const metadata = metadataOf(ref);
      const value = metadata[what === 'rv' ? 'resourceVersion' : what];
      return encodeURIComponent(typeof value === 'string' ? value : '');
    });
  for (const step of steps) {
    if (answers.has(step.id)) throw new Error(`duplicate step id ${step.id}`);
    if (step.action === 'compact') {
      await server.compact();
      answers.set(step.id, { step, response: { status: 0, body: undefined } });
      continue;
    }
    if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
    let body: string | undefined;
    if (typeof step.body === 'string') body = step.body;
    else if (isRecord(step.body) && typeof step.body.from === 'string' && isRecord(step.body.merge)) {
      const from = step.body as unknown as FromBody;
      const previous = answers.get(from.from)?.response.body;
      body = JSON.stringify(deepMerge(previous, from.merge));
    } else if (step.body !== undefined) body = fill(JSON.stringify(step.body));
    const response = await send(server.url, who[step.as ?? 'admin'], {
      method: step.method,
      path: fill(step.path),
      contentType: step.contentType,
      body,
      watch: step.watch,
    });
    answers.set(step.id, { step, response });
  }
  return answers;
}
