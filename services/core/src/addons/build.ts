// The add-on sequence as built for one cluster: what the worker applies and awaits, step by step.
import type { AddonAwait, AddonObject, AddonSpec } from './addon.js';
import { ADDON_STEPS } from './sequence.js';

export interface BuiltAddonStep {
  name: string;
  condition: string;
  /** The enabled add-ons' names, in the step's order. */
  addons: string[];
  objects: AddonObject[];
  awaits: AddonAwait[];
}

/** The steps with at least one enabled add-on; a step with none is skipped (see sequence.ts). */
export function buildAddonSteps(spec: AddonSpec): BuiltAddonStep[] {
  return ADDON_STEPS.flatMap((step) => {
    const enabled = step.addons.filter((addon) => addon.enabled(spec));
    if (enabled.length === 0) return [];
    return [
      {
        name: step.name,
        condition: step.condition,
        addons: enabled.map((addon) => addon.name),
        objects: enabled.flatMap((addon) => addon.objects(spec)),
        awaits: enabled.flatMap((addon) => (addon.awaits ? [addon.awaits(spec)] : [])),
      },
    ];
  });
}
