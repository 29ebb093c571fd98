// The order in which add-ons come up in a user cluster: networking first (nodes are NotReady
// until the network plugin runs, and nothing else schedules), then DNS, the tunnel and the
// optional add-ons. Adding an add-on is its builder file plus an entry here.
import type { AddonStep } from './addon.js';

export const ADDON_STEPS: readonly AddonStep[] = [];
