import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueCertificate } from '../../../services/sandbox/src/kubesim/index.js';
import { apiserverConfigFromFlags, parseFlags } from '../../../services/sandbox/src/kubesim/cli.js';
import { ensureBuilt } from '../../support/build.js';
import { scaled } from '../../support/time.js';

let dir: string;
let certFile: string;
let keyFile: string;

function cli(...args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, ['dist/services/sandbox/src/kubesim/cli.js', ...args], {
    cwd: process.cwd(),
    encoding: 'utf8',
    timeout: scaled(20_000),
  });
  return { status: result.status, stderr: result.stderr };
}

function baseFlags(): string[] {
  return [
    `--tls-cert-file=${certFile}`,
    `--tls-private-key-file=${keyFile}`,
    '--etcd-servers=https://127.0.0.1:1',
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-signing-key-file=${keyFile}`,
    `--service-account-key-file=${keyFile}`,
  ];
}

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'kubesim-cli-'));
  const ca = await createCa('ca');
  const leaf = await issueCertificate(ca, { commonName: 'apiserver', server: true });
  certFile = join(dir, 'apiserver.crt');
  keyFile = join(dir, 'apiserver.key');
  writeFileSync(certFile, leaf.certPem);
  writeFileSync(keyFile, leaf.keyPem);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kubesim CLI (kube-apiserver role)', () => {
  it('exits non-zero on an unknown flag', () => {
    const result = cli('kube-apiserver', ...baseFlags(), '--no-such-flag=1');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('unknown flag: --no-such-flag');
  });

  it('exits non-zero when a certificate file is missing or not a certificate', () => {
    const missing = cli('kube-apiserver', ...baseFlags(), `--client-ca-file=${join(dir, 'absent.crt')}`);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(`--client-ca-file: open ${join(dir, 'absent.crt')}: no such file or directory`);
    const garbage = join(dir, 'garbage.crt');
    writeFileSync(garbage, 'not a certificate');
    const invalid = cli('kube-apiserver', ...baseFlags(), `--client-ca-file=${garbage}`);
    expect(invalid.status).toBe(1);
    expect(invalid.stderr).toContain('--client-ca-file: invalid certificate data');
  });

  it('exits non-zero without the flags the real binary requires, and for an unknown role', () => {
    const noEtcd = cli('kube-apiserver', `--tls-cert-file=${certFile}`, `--tls-private-key-file=${keyFile}`);
    expect(noEtcd.status).toBe(1);
    expect(noEtcd.stderr).toContain('--etcd-servers must be specified');
    expect(noEtcd.stderr).toContain('service-account-issuer is a required flag');
    expect(cli('kube-proxy').status).toBe(1);
  });

  it('parses pflag-style flags', () => {
    const flags = parseFlags(
      ['--secure-port', '6443', '--profiling=false', '--allow-privileged', '--service-account-key-file=a', '--service-account-key-file', 'b'],
      {
        'secure-port': 'string',
        profiling: 'bool',
        'allow-privileged': 'bool',
        'service-account-key-file': 'keyish',
      },
    );
    expect(flags.get('secure-port')).toEqual(['6443']);
    expect(flags.get('profiling')).toEqual(['false']);
    expect(flags.get('allow-privileged')).toEqual(['true']);
    expect(flags.get('service-account-key-file')).toEqual(['a', 'b']);
    expect(() => parseFlags(['--profiling', 'false'], { profiling: 'bool' })).toThrow('does not take any arguments');
    expect(() => parseFlags(['--profiling=maybe'], { profiling: 'bool' })).toThrow('invalid argument "maybe"');
    expect(() => apiserverConfigFromFlags([...baseFlags(), '--enable-admission-plugins=NodeRestriction,Bogus'])).toThrow(
      'enable-admission-plugins plugin "Bogus" is unknown',
    );
    const config = apiserverConfigFromFlags([
      ...baseFlags(),
      '--authorization-mode=Node,RBAC',
      '--anonymous-auth=false',
      '--service-cluster-ip-range=10.40.0.0/16',
    ]);
    expect(config.options).toMatchObject({
      authorizationModes: ['Node', 'RBAC'],
      anonymous: false,
      serviceCidr: '10.40.0.0/16',
      storage: { type: 'etcd', endpoints: ['https://127.0.0.1:1'] },
    });
  });
});
