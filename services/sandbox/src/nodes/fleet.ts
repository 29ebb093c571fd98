// Glue between a cloud simulator's instance lifecycle and node simulators: one node per
// running instance, keyed by instance id, each with its own state directory.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startNodeSimulator, type NodeSimulator, type NodeSimulatorOptions } from './simulator.js';

export type FleetNodeOptions = Omit<NodeSimulatorOptions, 'userData' | 'ip' | 'stateDir'>;

export interface NodeFleet {
  /** For a cloud simulator's onInstanceRunning: boots the instance's user data on its private IP. */
  boot(instanceId: string, privateIp: string, userData: string): Promise<NodeSimulator>;
  get(instanceId: string): NodeSimulator | undefined;
  instanceIds(): string[];
  /** The machine dies: heartbeats and sshd stop, the Node object stays. */
  kill(instanceId: string): Promise<void>;
  /** The instance is terminated: the node stops and its state directory goes. */
  terminate(instanceId: string): Promise<void>;
  stopAll(): Promise<void>;
}

export function createNodeFleet(stateRoot: string, nodeOptions: FleetNodeOptions = {}): NodeFleet {
  const nodes = new Map<string, Promise<NodeSimulator>>();
  const stateDirOf = (instanceId: string): string => join(stateRoot, instanceId.replace(/[^A-Za-z0-9_.-]/g, '_'));
  const settled = async (instanceId: string): Promise<NodeSimulator | undefined> => {
    const pending = nodes.get(instanceId);
    return pending ? pending.catch(() => undefined) : undefined;
  };
  const ready = new Map<string, NodeSimulator>();
  const terminate = async (instanceId: string): Promise<void> => {
    const node = await settled(instanceId);
    nodes.delete(instanceId);
    ready.delete(instanceId);
    await node?.stop();
    if (!process.env.HM_TEST_KEEP_STATE) rmSync(stateDirOf(instanceId), { recursive: true, force: true });
  };
  return {
    boot: (instanceId, privateIp, userData) => {
      if (nodes.has(instanceId)) throw new Error(`instance ${instanceId} already booted a node`);
      const stateDir = stateDirOf(instanceId);
      mkdirSync(stateDir, { recursive: true });
      const started = startNodeSimulator({ ...nodeOptions, userData, ip: privateIp, stateDir }).then((node) => {
        ready.set(instanceId, node);
        return node;
      });
      nodes.set(instanceId, started);
      started.catch(() => nodes.delete(instanceId));
      return started;
    },
    get: (instanceId) => ready.get(instanceId),
    instanceIds: () => [...nodes.keys()],
    kill: async (instanceId) => {
      await (await settled(instanceId))?.kill();
    },
    terminate,
    stopAll: async () => {
      await Promise.all([...nodes.keys()].map(terminate));
    },
  };
}
