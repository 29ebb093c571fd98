// Runs once before the whole suite: the services the tests talk to must be up.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync('bash', ['scripts/ensure-services.sh'], { stdio: 'inherit' });
}
