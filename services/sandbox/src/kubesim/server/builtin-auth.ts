// Minimal authenticators the server falls back to when ../auth/ is not available: x509
// client certificates and static tokens. The full set lives in ../auth/.
import { timingSafeEqual } from 'node:crypto';
import type { AuthenticationRequest, AuthenticationResult, Authenticator, StaticTokenEntry } from '../contracts.js';

function asList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export class ClientCertificateAuthenticator implements Authenticator {
  async authenticate(request: AuthenticationRequest): Promise<AuthenticationResult> {
    const socket = request.socket;
    if (!socket || typeof socket.getPeerCertificate !== 'function') return { outcome: 'no-credentials' };
    const peer = socket.getPeerCertificate();
    if (!peer || Object.keys(peer).length === 0) return { outcome: 'no-credentials' };
    if (!socket.authorized) return { outcome: 'rejected', reason: `verifying certificate failed: ${String(socket.authorizationError ?? 'unknown authority')}` };
    const subject = peer.subject as unknown as Record<string, string | string[] | undefined>;
    const username = asList(subject.CN)[0];
    if (!username) return { outcome: 'rejected', reason: 'certificate has no common name' };
    return { outcome: 'authenticated', user: { username, groups: [...asList(subject.O), 'system:authenticated'] } };
  }
}

export class StaticTokenAuthenticator implements Authenticator {
  constructor(private readonly entries: StaticTokenEntry[]) {}

  async authenticate(request: AuthenticationRequest): Promise<AuthenticationResult> {
    const header = asList(request.headers.authorization)[0];
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) return { outcome: 'no-credentials' };
    const presented = Buffer.from(match[1]);
    const entry = this.entries.find((e) => {
      const expected = Buffer.from(e.token);
      return expected.length === presented.length && timingSafeEqual(expected, presented);
    });
    if (!entry) return { outcome: 'no-credentials' };
    return { outcome: 'authenticated', user: { username: entry.user, uid: entry.uid, groups: [...entry.groups, 'system:authenticated'] } };
  }
}

/** Parses a --token-auth-file (CSV: token,user,uid[,"group1,group2"]). */
export function parseTokenAuthFile(text: string): StaticTokenEntry[] {
  const entries: StaticTokenEntry[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '' || line.trim().startsWith('#')) return;
    const fields: string[] = [];
    const pattern = /("([^"]*)"|[^,]*)(,|$)/g;
    let m: RegExpExecArray | null;
    while ((m = pattern.exec(line)) !== null) {
      fields.push(m[2] ?? m[1]);
      if (m[3] === '') break;
    }
    if (fields.length < 3 || !fields[0] || !fields[1]) throw new Error(`token file: line ${index + 1}: expected at least 3 columns (token,user,uid)`);
    entries.push({
      token: fields[0],
      user: fields[1],
      uid: fields[2],
      groups: fields[3]
        ? fields[3]
            .split(',')
            .map((g) => g.trim())
            .filter(Boolean)
        : [],
    });
  });
  return entries;
}
