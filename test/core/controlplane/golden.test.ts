import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildControlPlane } from '../../../services/core/src/controlplane/index.js';
import { EXPOSE_STRATEGIES } from '../../../services/core/src/model/schemas.js';
import { buildTenantBootstrapObjects } from '../../../services/core/src/bootstrap/tenant-objects.js';
import { GOLDEN_DIR, referencePki, referenceSpec } from './reference.js';

// Regenerate with: UPDATE_GOLDEN=1 npx vitest run test/core/controlplane
const UPDATE = process.env.UPDATE_GOLDEN === '1';

async function render(strategy: (typeof EXPOSE_STRATEGIES)[number]): Promise<string> {
  const pki = await referencePki();
  const spec = referenceSpec(strategy);
  const built = buildControlPlane(spec, pki);
  const documents = built.groups.flatMap((group) =>
    group.objects.map((object) => `# apply group: ${group.name}\n${stringify(object, { lineWidth: 0, aliasDuplicateObjects: false })}`),
  );
  const tenant = buildTenantBootstrapObjects(spec, pki.ca.cluster.certPem).map(
    (object) => `# tenant bootstrap object\n${stringify(object, { lineWidth: 0, aliasDuplicateObjects: false })}`,
  );
  return [...documents, ...tenant].join('---\n');
}

describe('golden manifests of the reference cluster', () => {
  for (const strategy of EXPOSE_STRATEGIES) {
    it(`matches golden/${strategy.toLowerCase()}.yaml`, async () => {
      const file = `${GOLDEN_DIR}${strategy.toLowerCase()}.yaml`;
      const rendered = await render(strategy);
      if (UPDATE) writeFileSync(file, rendered);
      expect(existsSync(file), `${file} is missing; run UPDATE_GOLDEN=1 npx vitest run test/core/controlplane`).toBe(true);
      expect(rendered).toBe(readFileSync(file, 'utf8'));
    });
  }

  it('renders identically twice (the builders are pure)', async () => {
    expect(await render('NodePort')).toBe(await render('NodePort'));
  });
});
