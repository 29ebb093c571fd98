// Holds kubesim to the real kube-apiserver: the same corpus of requests goes to a real etcd +
// kube-apiserver of the newest catalog version and to a kubesim set up alike, and the answers
// (status code, Status reason and details, the objects' fields) must agree, apart from the
// deliberate gaps in differential/known-gaps.ts (also listed in kubesim's README).
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUPPORTED_VERSIONS } from '../../services/core/src/versions.js';
import { createCa } from '../../services/sandbox/src/kubesim/index.js';
import { RealBinaries } from '../../services/sandbox/src/real-binaries/index.js';
import { corpus, type Step } from './differential/corpus.js';
import { KNOWN_GAPS } from './differential/known-gaps.js';
import { differences, Normaliser } from './differential/normalise.js';
import { certificateRequests, identities, runCorpus, type Answer } from './differential/runner.js';
import { startKubesim, startReal, type DiffServer } from './differential/servers.js';

const newest = SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1];

interface Mismatch {
  id: string;
  request: string;
  differences: string[];
  real: unknown;
  kubesim: unknown;
}

function comparable(normaliser: Normaliser, answer: Answer): unknown {
  const { step, response } = answer;
  if (step.action) return undefined;
  // The build facts of /version (commit, date, Go) differ; the version it claims must not.
  if (step.path === '/version' && response.status === 200 && typeof response.body === 'object' && response.body) {
    const { major, minor, gitVersion } = response.body as Record<string, unknown>;
    return { code: response.status, body: { major, minor, gitVersion } };
  }
  return normaliser.response(response);
}

describe(`kubesim against the real kube-apiserver v${newest.version}`, () => {
  const servers: DiffServer[] = [];
  let steps: Step[];
  let answers: { real: Map<string, Answer>; kubesim: Map<string, Answer> };

  beforeAll(async () => {
    const binaries = RealBinaries.fromEnvironment();
    if (!binaries) throw new Error('KUBE_BIN_DIR is not set');
    const ca = await createCa('differential-ca');
    const who = await identities(ca);
    steps = corpus();
    const csrs = await certificateRequests(steps);
    const [real, kubesim] = await Promise.all([startReal(binaries, newest.version, newest.etcdVersion, ca, who.admin), startKubesim(ca)]);
    servers.push(real, kubesim);
    answers = { real: await runCorpus(real, steps, who, csrs), kubesim: await runCorpus(kubesim, steps, who, csrs) };
  }, 120_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  it('sends a corpus of at least 300 requests', () => {
    expect(steps.filter((step) => !step.action).length).toBeGreaterThanOrEqual(300);
  });

  it('answers every request like the real apiserver, apart from the listed deliberate gaps', () => {
    const realNormaliser = new Normaliser();
    const simNormaliser = new Normaliser();
    const mismatches: Mismatch[] = [];
    for (const step of steps) {
      const real = comparable(realNormaliser, answers.real.get(step.id) as Answer);
      const kubesim = comparable(simNormaliser, answers.kubesim.get(step.id) as Answer);
      const diff = differences(real, kubesim);
      if (diff.length > 0) mismatches.push({ id: step.id, request: `${step.as ?? 'admin'} ${step.method} ${step.path}`, differences: diff, real, kubesim });
    }
    if (process.env.DIFF_REPORT) {
      writeFileSync(
        process.env.DIFF_REPORT,
        JSON.stringify({ requests: steps.length, mismatches: mismatches.length, gaps: Object.keys(KNOWN_GAPS).length, detail: mismatches }, null, 2),
      );
    }
    const unexpected = mismatches.filter((m) => !(m.id in KNOWN_GAPS)).map((m) => ({ id: m.id, request: m.request, differences: m.differences }));
    const stale = Object.keys(KNOWN_GAPS).filter((id) => !mismatches.some((m) => m.id === id));
    expect(unexpected, `${unexpected.length} mismatches of ${steps.length} requests`).toEqual([]);
    expect(stale, 'known gaps that kubesim no longer has (remove them from known-gaps.ts and the README)').toEqual([]);
  });
});
