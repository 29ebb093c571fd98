// Builders for valid request bodies and the users of each role.
import { generateKeyPairSync } from 'node:crypto';
import type { TestServer } from './server.js';

export function sshPublicKey(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const type = Buffer.from('ssh-ed25519');
  const blob = Buffer.concat([u32(type.length), type, u32(raw.length), raw]);
  return `ssh-ed25519 ${blob.toString('base64')} test@harbormaster`;
}

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}

export const awsCredential = (name = 'aws-main') => ({
  name,
  provider: 'aws',
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  region: 'eu-central-1',
});

export const doCredential = (name = 'do-main') => ({ name, provider: 'digitalocean', token: 'dop_v1_' + 'ab12'.repeat(16) });

export interface ProjectWithRoles {
  projectId: string;
  tokens: { owner: string; editor: string; viewer: string; outsider: string };
}

/** A project whose owner, editor and viewer each hold a token, plus a user of another project. */
export async function projectWithRoles(server: TestServer, name: string): Promise<ProjectWithRoles> {
  const created = await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name } });
  if (created.status !== 201) throw new Error(`project create failed: ${created.text}`);
  const projectId = created.body.id;
  const tokenFor = async (email: string, role?: string): Promise<string> => {
    const user = await server.request<{ id: string }>('POST', '/api/v1/users', { body: { email } });
    if (user.status !== 201) throw new Error(`user create failed: ${user.text}`);
    if (role) {
      const member = await server.request('POST', `/api/v1/projects/${projectId}/members`, { body: { userId: user.body.id, role } });
      if (member.status !== 201) throw new Error(`member add failed: ${member.text}`);
    }
    const token = await server.request<{ token: string }>('POST', `/api/v1/users/${user.body.id}/tokens`, { body: { name: 'test' } });
    return token.body.token;
  };
  const owner = await tokenFor(`owner-${name}@example.com`, 'owner');
  const editor = await tokenFor(`editor-${name}@example.com`, 'editor');
  const viewer = await tokenFor(`viewer-${name}@example.com`, 'viewer');
  const outsider = await tokenFor(`outsider-${name}@example.com`);
  await server.request('POST', '/api/v1/projects', { token: outsider, body: { name: `${name}-other` } });
  return { projectId, tokens: { owner, editor, viewer, outsider } };
}
