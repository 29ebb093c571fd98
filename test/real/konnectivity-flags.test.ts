// The konnectivity stand-ins' command lines against the real binaries': the same flags exist, and
// a command line the real proxy-server or proxy-agent refuses is refused by the stand-in with the
// same message and exit status, so a sidecar or DaemonSet that runs in the sandbox runs on a seed.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SUPPORTED_VERSIONS } from '../../services/core/src/versions.js';
import { RealBinaries } from '../../services/sandbox/src/real-binaries/index.js';
import { ensureBuilt } from '../support/build.js';

const real = RealBinaries.fromEnvironment();
const newest = SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1];
const STAND_IN_CLI = resolve('dist/services/sandbox/src/konnectivity/cli.js');
type Role = 'proxy-server' | 'proxy-agent';

function runReal(role: Role, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(real!.konnectivity(role, newest.version), args, { encoding: 'utf8', timeout: 10_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function runStandIn(role: Role, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [STAND_IN_CLI, role, ...args], { encoding: 'utf8', timeout: 10_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The flag names a --help lists. */
function flagNames(help: string): string[] {
  return [...help.matchAll(/^\s+(?:-\w, )?--([\w-]+)/gm)].map((match) => match[1]).sort();
}

const errorLine = (output: string): string | undefined => output.split('\n').find((line) => line.startsWith('Error: '));

beforeAll(() => {
  if (!real) throw new Error('the konnectivity flag test needs KUBE_BIN_DIR (vitest.real.config.ts)');
  ensureBuilt();
});

describe('the konnectivity stand-ins take the real binaries’ command lines', () => {
  it.each(['proxy-server', 'proxy-agent'] as const)('%s: the same flags', (role) => {
    const realFlags = flagNames(runReal(role, ['--help']).output);
    expect(realFlags.length).toBeGreaterThan(30);
    expect(flagNames(runStandIn(role, ['--help']).output)).toEqual(realFlags);
  });

  const uds = '--uds-name=/tmp/hm-konn-flags.socket';
  it.each([
    ['proxy-server', ['--bogus']],
    ['proxy-server', [uds, '--server-port=0', '--proxy-strategies=destHost,default-route']],
    ['proxy-server', [uds, '--server-port=8090']],
    ['proxy-server', [uds, '--server-port=0', '--agent-port=50000']],
    ['proxy-server', [uds, '--server-port=0', '--health-port=80']],
    ['proxy-server', ['--mode=http2']],
    ['proxy-server', [uds, '--server-port=0', '--delete-existing-uds-file=maybe']],
    ['proxy-server', [uds, '--server-port=0', '--keepalive-time=30']],
    ['proxy-server', [uds, '--server-port=0', '--agent-namespace=kube-system']],
    ['proxy-server', [uds, '--server-port=0', '--agent-namespace=kube-system', '--agent-service-account=konnectivity-agent']],
    ['proxy-agent', ['--bogus']],
    ['proxy-agent', ['--proxy-server-port=many']],
  ] as const)('%s %j: refused as the real one refuses it', (role, args) => {
    const expected = runReal(role, [...args]);
    expect(expected.status).toBe(1);
    const line = errorLine(expected.output);
    expect(line).toBeDefined();
    const actual = runStandIn(role, [...args]);
    expect(actual.status).toBe(1);
    expect(errorLine(actual.output)).toBe(line);
  });
});
