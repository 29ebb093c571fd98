import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildAddonSteps, type AddonSelection } from '../../../services/core/src/addons/index.js';
import { GOLDEN_DIR, referenceAddonSpec } from './reference.js';

// Regenerate with: UPDATE_GOLDEN=1 npx vitest run test/core/addons
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const CASES: Array<{ file: string; selection: AddonSelection; mtu?: number }> = [
  { file: 'cilium-default.yaml', selection: { cni: 'cilium', metricsServer: false } },
  { file: 'flannel-metrics-server.yaml', selection: { cni: 'flannel', metricsServer: true }, mtu: 1450 },
  { file: 'none.yaml', selection: { cni: 'none', metricsServer: false } },
];

function render(selection: AddonSelection, mtu: number | undefined): string {
  const spec = referenceAddonSpec(selection, mtu === undefined ? {} : { mtu });
  return buildAddonSteps(spec)
    .flatMap((step) =>
      step.objects.map(
        (object) =>
          `# step: ${step.name} (${step.condition}), ownership: ${object.ownership}\n${stringify(object.manifest, { lineWidth: 0, aliasDuplicateObjects: false })}`,
      ),
    )
    .join('---\n');
}

describe('golden add-on manifests of the reference cluster', () => {
  for (const { file, selection, mtu } of CASES) {
    it(`matches golden/${file}`, () => {
      const path = `${GOLDEN_DIR}${file}`;
      const rendered = render(selection, mtu);
      if (UPDATE) writeFileSync(path, rendered);
      expect(existsSync(path), `${path} is missing; run UPDATE_GOLDEN=1 npx vitest run test/core/addons`).toBe(true);
      expect(rendered).toBe(readFileSync(path, 'utf8'));
    });
  }

  it('renders identically twice (the builders are pure)', () => {
    expect(render({ cni: 'cilium', metricsServer: true }, 1400)).toBe(render({ cni: 'cilium', metricsServer: true }, 1400));
  });
});
