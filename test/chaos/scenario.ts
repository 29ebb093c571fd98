// What every chaos scenario shares: the mode (HM_CHAOS), the invariants checked after the world
// converged (duplicates, orphans, lost operations) and the figures line each scenario prints.
// A scenario starts an activity (create, scale, delete), waits until it reached the point under
// test, injects its fault, and waits for the world to converge within a scaled deadline.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { clusterPath, machines, PROVIDERS, type Cluster, type Operation, type PoolNode } from '../nodes/support.js';
import { ROOT } from '../support/server.js';
import { eventually, scaled, sleep } from '../support/time.js';
import type { ChaosWorld } from './world.js';

export type ChaosMode = 'short' | 'long';

function parseMode(raw: string | undefined): ChaosMode {
  if (raw === undefined || raw === '' || raw === 'short') return 'short';
  if (raw === 'long') return 'long';
  throw new Error(`HM_CHAOS must be short or long, got ${raw}`);
}

/** short (the default, in the normal suite): one representative case per parameterised scenario and short fault windows; long: every case, full windows. */
export const CHAOS_MODE = parseMode(process.env.HM_CHAOS);

/** Every case in the long form, only the representative one in the short form. */
export function casesFor<T>(all: readonly T[], representative: T): readonly T[] {
  return CHAOS_MODE === 'long' ? all : [representative];
}

/** A fault window: `long` in the long form, `short` otherwise (milliseconds, not scaled: it is the fault, not a deadline). */
export function windowMs(short: number, long: number): number {
  return CHAOS_MODE === 'long' ? long : short;
}

export interface Figures {
  scenario: string;
  /** How long the fault lasted (0 for an instantaneous one: a kill, a wipe). */
  faultSeconds: number;
  /** From the end of the fault until the world converged; null when it did not within the deadline. */
  convergeSeconds: number | null;
  /** Cloud machines beyond the first for one node id (live or terminated). */
  duplicates: number;
  /** Live machines no live node row owns, and seed namespaces of clusters that are gone. */
  orphans: number;
  /** Operations that never reached a terminal state. */
  lost: number;
  /** Operations that ended failed: none of the faults is a reason to give up on a request. */
  failed: number;
}

const FIGURES_FILE = join(ROOT, 'test-artifacts/chaos/figures.jsonl');

function report(figures: Figures): void {
  const converge = figures.convergeSeconds === null ? 'did not converge' : `converged ${figures.convergeSeconds.toFixed(1)} s after`;
  process.stdout.write(
    `chaos [${CHAOS_MODE}] ${figures.scenario}: fault ${figures.faultSeconds.toFixed(1)} s, ${converge}, duplicates ${figures.duplicates}, orphans ${figures.orphans}, lost ${figures.lost}, failed ${figures.failed}\n`,
  );
  mkdirSync(join(ROOT, 'test-artifacts/chaos'), { recursive: true });
  appendFileSync(FIGURES_FILE, `${JSON.stringify({ mode: CHAOS_MODE, at: new Date().toISOString(), ...figures })}\n`);
}

export interface Scenario {
  name: string;
  /** Starts the activity under test; returns the clusters whose invariants are checked. */
  act: () => Promise<string[]>;
  /** The point at which the fault lands (a phase reason, a node phase); at once when absent. */
  when?: { what: string; reached: () => Promise<boolean> };
  /** Injects the fault and returns once it is over (a window has closed, a process is back). */
  fault: () => Promise<void>;
  /** The world the activity asked for: Running with its nodes Ready, a pool at its count, a cluster gone. */
  converged: (clusterIds: string[]) => Promise<boolean>;
  /** Quiet-machine budget from the end of the fault to convergence (scaled). */
  convergeWithinMs: number;
}

/** Runs one scenario, prints its figures, and asserts convergence and zero duplicates, orphans, lost and failed operations. */
export async function runScenario(world: ChaosWorld, scenario: Scenario): Promise<Figures> {
  const clusterIds = await scenario.act();
  if (scenario.when) await eventually(scenario.when.reached, `${scenario.name}: ${scenario.when.what}`, 180_000, 100);
  const faultStarted = Date.now();
  await scenario.fault();
  const faultEnded = Date.now();
  let convergeSeconds: number | null = null;
  const deadline = faultEnded + scaled(scenario.convergeWithinMs);
  while (Date.now() < deadline) {
    // A read that fails (the API answering 5xx while its database restarts) is "not yet".
    const done = await (async () => (await scenario.converged(clusterIds)) && (await openOperations(world, clusterIds)).length === 0)().catch(() => false);
    if (done) {
      convergeSeconds = (Date.now() - faultEnded) / 1000;
      break;
    }
    await sleep(250);
  }
  const invariants = await checkInvariants(world, clusterIds);
  const figures: Figures = { scenario: scenario.name, faultSeconds: (faultEnded - faultStarted) / 1000, convergeSeconds, ...invariants };
  report(figures);
  expect(figures, `${scenario.name}: ${JSON.stringify(invariants.details)}`).toMatchObject({ duplicates: 0, orphans: 0, lost: 0, failed: 0 });
  expect(convergeSeconds, `${scenario.name} did not converge within ${scaled(scenario.convergeWithinMs)} ms of the fault's end`).not.toBeNull();
  return figures;
}

async function operations(world: ChaosWorld, clusterId: string): Promise<Operation[]> {
  const response = await world.server.request<{ items: Operation[] }>('GET', `${clusterPath(world, clusterId)}/operations`);
  if (response.status !== 200) throw new Error(`operations of ${clusterId}: ${response.status} ${response.text}`);
  return response.body.items;
}

const TERMINAL = new Set(['succeeded', 'failed', 'superseded']);

async function openOperations(world: ChaosWorld, clusterIds: string[]): Promise<Operation[]> {
  const open: Operation[] = [];
  for (const clusterId of clusterIds) open.push(...(await operations(world, clusterId)).filter((operation) => !TERMINAL.has(operation.status)));
  return open;
}

/** The cluster, or undefined once it is deleted (404) or marked Deleted. */
export async function clusterOrGone(world: ChaosWorld, clusterId: string): Promise<Cluster | undefined> {
  const response = await world.server.request<Cluster>('GET', clusterPath(world, clusterId));
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw new Error(`cluster ${clusterId}: ${response.status} ${response.text}`);
  return response.body.phase === 'Deleted' ? undefined : response.body;
}

/** The live node rows of every pool of the cluster, as the API lists them. */
export async function liveNodes(world: ChaosWorld, clusterId: string): Promise<PoolNode[]> {
  const pools = await world.server.request<{ items: Array<{ id: string }> }>('GET', `${clusterPath(world, clusterId)}/nodepools`);
  if (pools.status === 404) return [];
  const nodes: PoolNode[] = [];
  for (const pool of pools.body.items) {
    const response = await world.server.request<{ items: PoolNode[] }>('GET', `${clusterPath(world, clusterId)}/nodepools/${pool.id}/nodes`);
    if (response.status === 200) nodes.push(...response.body.items.filter((node) => node.phase !== 'Deleted'));
  }
  return nodes;
}

async function checkInvariants(
  world: ChaosWorld,
  clusterIds: string[],
): Promise<Omit<Figures, 'scenario' | 'faultSeconds' | 'convergeSeconds'> & { details: Record<string, unknown> }> {
  let duplicates = 0;
  const orphanMachines: string[] = [];
  const duplicateNodes: string[] = [];
  for (const clusterId of clusterIds) {
    const rows = new Set((await clusterOrGone(world, clusterId)) ? (await liveNodes(world, clusterId)).map((node) => node.id) : []);
    for (const provider of PROVIDERS) {
      const all = machines(world, provider, { clusterId });
      const perNode = new Map<string, number>();
      for (const machine of all) if (machine.nodeId) perNode.set(machine.nodeId, (perNode.get(machine.nodeId) ?? 0) + 1);
      for (const [nodeId, count] of perNode)
        if (count > 1) {
          duplicates += count - 1;
          duplicateNodes.push(`${provider}:${nodeId}×${count}`);
        }
      // A machine on its way out (shutting-down, a droplet deleted but not yet archived) is not live.
      const live = all.filter((machine) => !machine.terminated && machine.state !== 'shutting-down' && !machine.state.startsWith('deleted'));
      for (const machine of live) if (!machine.nodeId || !rows.has(machine.nodeId)) orphanMachines.push(`${provider}:${machine.id} (${machine.state})`);
    }
  }
  const orphanNamespaces = await orphanSeedNamespaces(world);
  const ops: Operation[] = [];
  for (const clusterId of clusterIds) ops.push(...(await operations(world, clusterId)));
  const lost = ops.filter((operation) => !TERMINAL.has(operation.status));
  const failed = ops.filter((operation) => operation.status === 'failed');
  return {
    duplicates,
    orphans: orphanMachines.length + orphanNamespaces.length,
    lost: lost.length,
    failed: failed.length,
    details: {
      duplicateNodes,
      orphanMachines,
      orphanNamespaces,
      lost: lost.map((operation) => `${operation.kind} ${operation.status}`),
      failed: failed.map((operation) => `${operation.kind}: ${operation.message}`),
    },
  };
}

/** Seed namespaces of clusters that no longer exist (every cluster namespace is `cluster-<id>`). */
async function orphanSeedNamespaces(world: ChaosWorld): Promise<string[]> {
  const config = new KubeConfig();
  config.loadFromString(world.processSeed.kubesim.adminKubeconfig);
  const namespaces = (await config.makeApiClient(CoreV1Api).listNamespace()).items.map((namespace) => namespace.metadata?.name ?? '');
  const orphans: string[] = [];
  for (const name of namespaces.filter((candidate) => candidate.startsWith('cluster-'))) {
    if (!(await clusterOrGone(world, name.slice('cluster-'.length)))) orphans.push(name);
  }
  return orphans;
}

/** Cluster Running with exactly `nodes` live nodes, every one Ready. */
export async function runningWith(world: ChaosWorld, clusterId: string, nodes: number): Promise<boolean> {
  const cluster = await clusterOrGone(world, clusterId);
  if (cluster?.phase !== 'Running') return false;
  const live = await liveNodes(world, clusterId);
  return live.length === nodes && live.every((node) => node.phase === 'Ready');
}

export async function gone(world: ChaosWorld, clusterId: string): Promise<boolean> {
  return (await clusterOrGone(world, clusterId)) === undefined;
}

export async function phaseReasonIs(world: ChaosWorld, clusterId: string, reason: string): Promise<boolean> {
  return (await clusterOrGone(world, clusterId))?.phaseReason === reason;
}

export async function someNodeIn(world: ChaosWorld, clusterId: string, phase: string): Promise<boolean> {
  return (await liveNodes(world, clusterId)).some((node) => node.phase === phase);
}

/** Deletes a cluster and waits until it is gone, checking the invariants on the way out too. */
export async function deleteCluster(world: ChaosWorld, clusterId: string): Promise<void> {
  const response = await world.server.request('DELETE', clusterPath(world, clusterId));
  if (response.status !== 202) throw new Error(`delete failed: ${response.status} ${response.text}`);
}

export async function phaseIs(world: ChaosWorld, clusterId: string, phase: string): Promise<boolean> {
  return (await clusterOrGone(world, clusterId))?.phase === phase;
}
