// The clouds of the embedded default: an EC2 and a DigitalOcean simulator in this process, and a
// node fleet that boots every instance that reaches running and stops it when the machine goes.
// Any well-formed credential a project stores works here: on first use its key (or token) is
// signed up as a simulator account, the way a new cloud account comes with its own keys. The
// simulators stay strict about everything else: a request signed with keys no one signed up,
// or with the wrong secret, is still refused.
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { CloudAccountCredentials, CloudEndpointResolver } from '../../../platform/src/index.js';
import type { ProviderName } from '../../../clouds/src/index.js';
import { startDigitalOceanSimulator, type DigitalOceanSimulator } from '../clouds/digitalocean/index.js';
import { startEc2Simulator, type Ec2Simulator } from '../clouds/ec2/index.js';
import { createNodeFleet, parseNodeUserData, SshdBindError, type NodeFleet, type NodeSimulatorOptions } from '../nodes/index.js';
import { claimSandboxInstallation, type SandboxInstallation } from './installation.js';

export interface SimulatedCloudsOptions {
  /** Node state directories (sshd keys and config) live under here. */
  nodesDir: string;
  /** Where the installation id is kept (see installation.ts): it picks this installation's addresses and machine ids. */
  installationDir: string;
  /** Where each node's sshd listens on its own loopback address: the port the health checker probes. */
  sshPort: number;
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /** Whether nodes wait for a CNI add-on before turning Ready (see NodeSimulatorOptions). */
  networkPlugin?: NodeSimulatorOptions['networkPlugin'];
}

export interface SimulatedClouds extends CloudEndpointResolver {
  readonly ec2: Ec2Simulator;
  readonly digitalOcean: DigitalOceanSimulator;
  readonly fleet: NodeFleet;
  readonly installation: SandboxInstallation;
  stop(): Promise<void>;
}

export async function startSimulatedClouds(options: SimulatedCloudsOptions): Promise<SimulatedClouds> {
  const installation = await claimSandboxInstallation(options.installationDir);
  options.log('info', 'sandbox installation claimed its machine block', {
    installation: installation.id,
    block: installation.block,
    ...(installation.skipped.length > 0 ? { takenByOthers: installation.skipped } : {}),
  });
  // The simulated machines lived in memory: whatever node state a previous run left is garbage.
  rmSync(options.nodesDir, { recursive: true, force: true });
  const fleet = createNodeFleet(options.nodesDir, {
    sshPort: options.sshPort,
    ...(options.networkPlugin ? { networkPlugin: options.networkPlugin } : {}),
    onError: (error) => options.log('debug', 'simulated node error', { err: error.message }),
  });
  const boot = async (instanceId: string, privateIp: string, userData: string, kill: () => void): Promise<void> => {
    try {
      const node = await fleet.boot(instanceId, privateIp, userData);
      options.log('debug', 'simulated node booted', { instanceId, node: node.nodeName });
    } catch (error) {
      if (error instanceof SshdBindError) {
        // Someone else answers on this machine's address: running the node would send every SSH
        // probe there. The machine fails instead, as a host with a broken network would, and the
        // product sees it gone (and replaces it) rather than a node whose SSH keys "do not match".
        options.log('error', 'simulated machine cannot bind its address', {
          instanceId,
          node: nodeNameOf(userData),
          address: error.ip,
          port: error.port,
          errno: error.errno,
        });
        kill();
      } else {
        // User data without a join line is a machine that never becomes a node.
        options.log('warn', 'simulated instance did not boot a node', { instanceId, err: error instanceof Error ? error.message : String(error) });
      }
      throw error;
    }
  };
  let ec2: Ec2Simulator;
  try {
    ec2 = await startEc2Simulator({
      accounts: [],
      machineBlock: installation.block,
      onInstanceRunning: (instance, userData) =>
        boot(instance.instanceId, instance.privateIp, userData, () => ec2.killInstance(instance.instanceId, 'terminated')),
      onInstanceTerminated: (instance) => fleet.terminate(instance.instanceId),
    });
  } catch (error) {
    await installation.release();
    throw error;
  }
  let digitalOcean: DigitalOceanSimulator;
  try {
    digitalOcean = await startDigitalOceanSimulator({
      accounts: [],
      machineBlock: installation.block,
      onInstanceRunning: (droplet, userData) => boot(String(droplet.id), droplet.privateIp, userData, () => digitalOcean.killInstance(droplet.id, 'off')),
      onInstanceTerminated: (droplet) => fleet.terminate(String(droplet.id)),
    });
  } catch (error) {
    await ec2.close();
    await installation.release();
    throw error;
  }

  // One simulator per registered provider: a provider without one fails to type-check here.
  const simulators: { [P in ProviderName]: (credentials: Extract<CloudAccountCredentials, { provider: P }>) => string } = {
    aws: (credentials) => {
      try {
        ec2.addAccount({ accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey });
      } catch {
        // The key was signed up with another secret: its requests fail signature checks, as on AWS.
      }
      return ec2.url;
    },
    digitalocean: (credentials) => {
      // One simulated account per token; the name is derived so it never shows the token.
      const account = `sandbox-${createHash('sha256').update(credentials.token).digest('hex').slice(0, 16)}`;
      digitalOcean.addAccount({ name: account, tokens: [credentials.token] });
      return digitalOcean.url;
    },
  };
  const endpointFor = async (credentials: CloudAccountCredentials): Promise<string> =>
    (simulators[credentials.provider] as (credentials: CloudAccountCredentials) => string)(credentials);

  return {
    ec2,
    digitalOcean,
    fleet,
    installation,
    endpointFor,
    stop: async () => {
      await Promise.all([ec2.close(), digitalOcean.close()]);
      await fleet.stopAll();
      await installation.release();
    },
  };
}

function nodeNameOf(userData: string): string | undefined {
  try {
    return parseNodeUserData(userData).nodeName;
  } catch {
    return undefined;
  }
}
