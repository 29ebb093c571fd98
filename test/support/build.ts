// Child processes (the API server, kubesim roles) run from dist/. The global setup builds it once
// per run and says so in HM_TEST_BUILT; a file run on its own (or a benchmark) builds here.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

export function ensureBuilt(options: { portal?: boolean } = {}): void {
  if (process.env.HM_TEST_BUILT === '1') return;
  execFileSync(process.execPath, ['scripts/build.mjs', '--with-sandbox', ...(options.portal ? [] : ['--no-portal'])], { cwd: ROOT, stdio: 'ignore' });
  process.env.HM_TEST_BUILT = '1';
}
