// A simulated machine's sshd must not outlive the process that started it: after a kill -9 of
// the product, leftover sshd processes (parented to init) kept their node addresses for good.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { eventually, scaled } from '../support/time.js';

const accepts = (host: string, port: number): Promise<boolean> =>
  new Promise((done) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });

describe('simulated sshd lifetime', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-sshd-life-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    'dies with the process that started it, even on SIGKILL',
    async () => {
      ensureBuilt();
      const module = pathToFileURL(resolve('dist/services/sandbox/src/nodes/index.js')).href;
      const script = `
        const { startSshd } = await import(${JSON.stringify(module)});
        const sshd = await startSshd({ ip: '127.0.78.1', stateDir: ${JSON.stringify(join(dir, 'sshd'))}, authorizedKeys: [] });
        console.log(JSON.stringify({ port: sshd.port }));
        setInterval(() => undefined, 1000);
      `;
      const owner = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      const port = await new Promise<number>((done, fail) => {
        owner.stdout.once('data', (chunk: Buffer) => done((JSON.parse(chunk.toString()) as { port: number }).port));
        owner.once('exit', (code) => fail(new Error(`the owner exited with ${code} before sshd listened`)));
      });
      expect(await accepts('127.0.78.1', port)).toBe(true);
      owner.kill('SIGKILL');
      await eventually(async () => !(await accepts('127.0.78.1', port)), 'the orphaned sshd to be gone', 10_000, 200);
    },
    scaled(60_000),
  );
});
