// `node dist/services/sandbox/src/kubelet/cli.js --kubeconfig <file> --state-dir <dir>
//   [--namespace <ns>]... [--node-ip <ip>] [--binary <image>=<path>]...`
// runs the process kubelet as its own process (npm run up, manual sandboxes). SIGTERM and
// SIGINT stop every container and remove the /etc/hosts entries before exiting.
import { readFileSync } from 'node:fs';
import { startProcessKubelet } from './kubelet.js';
import type { BinaryOverrides } from './images.js';

interface CliOptions {
  kubeconfig?: string;
  stateDir?: string;
  namespaces: string[];
  nodeIP?: string;
  binaries: BinaryOverrides;
}

function parse(argv: string[]): CliOptions {
  const options: CliOptions = { namespaces: [], binaries: {} };
  for (let index = 0; index < argv.length; index++) {
    const [flag, inline] = argv[index].split(/=(.*)/s, 2);
    const value = (): string => {
      const next = inline ?? argv[++index];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--kubeconfig':
        options.kubeconfig = value();
        break;
      case '--state-dir':
        options.stateDir = value();
        break;
      case '--namespace':
        options.namespaces.push(value());
        break;
      case '--node-ip':
        options.nodeIP = value();
        break;
      case '--binary': {
        const [image, path] = value().split(/=(.*)/s, 2);
        if (!image || !path) throw new Error('--binary takes <image>=<path>');
        options.binaries[image] = path;
        break;
      }
      default:
        throw new Error(`unknown flag ${flag}`);
    }
  }
  return options;
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  if (!options.kubeconfig || !options.stateDir) throw new Error('--kubeconfig and --state-dir are required');
  const kubelet = await startProcessKubelet({
    kubeconfig: readFileSync(options.kubeconfig, 'utf8'),
    stateDir: options.stateDir,
    namespaces: options.namespaces.length > 0 ? options.namespaces : 'all',
    nodeIP: options.nodeIP,
    binaries: options.binaries,
    log: (message) => process.stderr.write(`${message}\n`),
  });
  process.stdout.write(`process kubelet ${kubelet.instanceId} running\n`);
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    kubelet.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`stop failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`process kubelet: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
