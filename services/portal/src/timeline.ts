// The portal's status views are renderings of the API's one cluster summary: nothing here
// decides a state, counts nodes or reads events to guess progress, so the list, the page head,
// the timeline, the pool cards and the node rows cannot disagree. Events only add the time a
// step happened, when its condition carries none.
import type { ClusterEvent, ClusterSummary, PoolSummary, TimelineStep } from './api.js';

export type MilestoneState = TimelineStep['status'];

export interface Milestone {
  key: string;
  label: string;
  state: MilestoneState;
  detail?: string;
  at?: string;
}

/** Events whose time stands for a step the summary says is done. */
const DONE_EVENTS: Record<string, readonly string[]> = {
  placed: ['Placed'],
  nodes: ['NodeJoined', 'NodePoolScaled'],
  running: ['ControlPlaneReady', 'PhaseRunning'],
};

function lastEvent(events: readonly ClusterEvent[], reasons: readonly string[]): ClusterEvent | undefined {
  for (let i = events.length - 1; i >= 0; i -= 1) if (reasons.includes(events[i].reason)) return events[i];
  return undefined;
}

export function milestonesOf(summary: ClusterSummary | undefined, events: readonly ClusterEvent[] = []): Milestone[] {
  if (!summary) return [];
  return summary.timeline.map((step) => {
    const at = step.status === 'done' ? (step.at ?? lastEvent(events, DONE_EVENTS[step.id] ?? [])?.createdAt) : undefined;
    return { key: step.id, label: step.title, state: step.status, detail: step.detail ?? undefined, at };
  });
}

/** The badge word: the state, and "Degraded" beside it whenever a qualifier holds. */
export function stateBadge(summary: ClusterSummary): { text: string; tone: string } {
  if (summary.qualifiers.length > 0 && summary.state !== 'Failed') return { text: `${summary.state} · Degraded`, tone: 'degraded' };
  return { text: summary.state, tone: summary.state.toLowerCase() };
}

/** The pool card's line from the cluster summary's entry when the page has one, so it matches the timeline. */
export function poolLine(summary: ClusterSummary | undefined, poolId: string, fallback: PoolSummary | undefined): PoolSummary | undefined {
  return summary?.pools.find((pool) => pool.id === poolId) ?? fallback;
}

export function upgradeLine(summary: ClusterSummary): string | undefined {
  return summary.versions.target ? `Upgrade from ${summary.versions.current} to ${summary.versions.target}` : undefined;
}
