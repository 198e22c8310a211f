import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TINY, nearItsSubspace, optionsFrom } from '../../examples/molrg-phases.js';
import type { AssessmentEvent, MetricEvent, RunEvent, RunMeta } from '../../streams/events.js';
import { molrg } from '../../streams/molrg.js';
import { createRng } from '../../streams/random.js';
import { exec, npmEnv, repoRoot } from '../support/pack.js';
import { tinyContext } from './script-context.js';

/** `npx phasewatch run examples/molrg-phases.ts … --out <dir>`, as a user runs it. */
async function phasewatch(
  out: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stderr: string }> {
  const args = ['phasewatch', 'run', 'examples/molrg-phases.ts'];
  const flags = ['--steps', '30', '--snapshot-every', '10', '--samples', '60'];
  const tiny = ['--batch-size', '16', '--ddim-steps', '4', '--timesteps', '20', '--embed', 'pca'];
  try {
    const r = await exec('npx', [...args, ...flags, ...tiny, '--confirm', '1', '--out', out], {
      cwd: repoRoot,
      env: { ...npmEnv, ...env },
    });
    return { code: 0, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

function stored(out: string): { meta: RunMeta; events: RunEvent[] } {
  const runs = readdirSync(out);
  expect(runs).to.have.length(1);
  const dir = join(out, runs[0]);
  return {
    meta: JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as RunMeta,
    events: readFileSync(join(dir, 'events.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as RunEvent),
  };
}

describe('examples/molrg-phases', function () {
  this.timeout(180_000);
  let out: string;
  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'pw-molrg-phases-'));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  it('through the phasewatch command: representation assessments of the chosen layer at every snapshot, their metrics and a phase', async () => {
    const r = await phasewatch(out, { MOLRG_PHASES: '{"layer": "layer1", "hidden": 24}' });
    expect(r.code, r.stderr).to.equal(0);
    const { meta, events } = stored(out);
    expect(meta).to.include({ status: 'completed' });
    expect(meta.tags).to.deep.equal(['example', 'molrg', 'representation']);
    const assessments = events.filter((e): e is AssessmentEvent => e.type === 'assessment');
    expect(assessments.map((a) => a.step)).to.deep.equal([10, 20, 30]);
    for (const a of assessments) {
      expect(a.rule).to.equal('representation');
      expect(a.warning).to.equal(undefined);
      expect(['A', 'B', 'C']).to.include(a.phase);
      expect(a.evidence).to.include({ n: 60, dim: 24, factors: 1 });
      expect(a.evidence.samplesOk).to.be.within(0, 1);
      expect(a.factors?.class).to.have.length(60);
    }
    const metrics = new Set(
      events.filter((e): e is MetricEvent => e.type === 'metric').map((e) => e.name),
    );
    expect([...metrics]).to.include.members([
      'phase/ordering',
      'evidence/structure',
      'evidence/samplesOk',
    ]);
    expect(events.filter((e) => e.type === 'phase')).to.have.length.above(0);
    // the progress lines give the representation rule's figures, not the bump rule's
    expect(r.stderr).to.match(
      /at step 10: structure \d\.\d\d ordering \d\.\d\d samples ok \d\.\d\d/,
    );
    expect(r.stderr).not.to.contain('one-bump');
  });

  it('a layer the model does not have: one line, no stack trace, exit 1', async () => {
    const r = await phasewatch(out, { MOLRG_PHASES: '{"layer": "layer4"}' });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(
      'phasewatch: MOLRG_PHASES layer must be one of layer1, layer2, layer1-last, layer2-last (got layer4)\n',
    );
    expect(r.stderr).not.to.match(/^\s+at /m);
  });

  it('picks the tiny preset under 200 steps; MOLRG_PHASES overrides it', () => {
    const ctx = tinyContext(out);
    expect(optionsFrom(ctx)).to.include({ hidden: TINY.hidden, layer: 'layer2' });
    process.env.MOLRG_PHASES = '{"layer": "layer2-last"}';
    try {
      expect(optionsFrom(ctx).layer).to.equal('layer2-last');
      process.env.MOLRG_PHASES = '{oops';
      expect(() => optionsFrom(ctx)).to.throw(/^MOLRG_PHASES must be a JSON object/);
    } finally {
      delete process.env.MOLRG_PHASES;
    }
  });

  it('judges a sample ok when it lies near the subspace of its asked class, not another', () => {
    const data = molrg({ classes: 3, subspaceDim: 4, ambientDim: 16, noise: 0.3, count: 300 });
    const share = (ok: Float32Array): number => ok.reduce((a, b) => a + b, 0) / ok.length;
    const asked = Float32Array.from(data.classOf);
    // the training data itself: nearly all ok
    expect(share(nearItsSubspace(data, data.data, asked, 2))).to.be.above(0.95);
    // the same vectors asked for the next class: (almost) none ok
    const shifted = asked.map((k) => (k + 1) % 3);
    expect(share(nearItsSubspace(data, data.data, shifted, 2))).to.be.below(0.05);
    // white noise of unit variance lies off every subspace: few ok (by chance, in 16 dimensions)
    const noise = Float32Array.from(createRng(1).normals(300 * 16));
    expect(share(nearItsSubspace(data, noise, asked, 2))).to.be.below(0.1);
  });
});
