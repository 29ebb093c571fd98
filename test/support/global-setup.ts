// Runs once before the whole suite: the services the tests talk to must be up, and dist/ (which
// the spawned servers run) must be built once — not by every file, which would race. It is the
// dev/test tree, with the sandbox.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync('bash', ['scripts/ensure-services.sh'], { stdio: 'inherit' });
  if (process.env.HM_TEST_BUILT !== '1') execFileSync(process.execPath, ['scripts/build.mjs', '--with-sandbox'], { stdio: 'inherit' });
  process.env.HM_TEST_BUILT = '1';
}
