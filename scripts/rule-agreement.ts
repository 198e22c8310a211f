/**
 * The generic representation rule against the bump rule on the snapshots of stored bump runs
 * (docs/phases.md, "The generic rule on bump runs"):
 *
 *   npx tsx scripts/rule-agreement.ts <runDir>…
 *
 * For each snapshot the bump rule's raw phase is the one the run stored; the generic rule
 * (`assessRepresentation`) is computed on the same stored activations with the labels as two
 * continuous factors (x, y), once on the representation alone and once with the bump rule's image
 * check as the sample verdicts (`samplesOk`: one bump, in place within `tol`). Prints a table per
 * run and the agreement of raw and confirmed (hysteresis) phases.
 */
import { join } from 'node:path';
import { assessRepresentation } from '../operators/metrics/assess-representation.js';
import { locateBump } from '../operators/metrics/locate-bump.js';
import { nextHysteresis, type HysteresisState } from '../operators/phase-hysteresis.js';
import { readSnapshotArrays } from '../engine/store/run-store.js';
import type { AssessmentEvent, Phase, Snapshot } from '../streams/events.js';
import { readRunEvents } from '../streams/replay.js';

const runs = process.argv.slice(2);
if (runs.length === 0) {
  console.error('usage: npx tsx scripts/rule-agreement.ts <runDir>…');
  process.exit(2);
}
const f = (v: number) => v.toFixed(2);
let total = 0;
const agree = { alone: 0, checked: 0, confirmedAlone: 0, confirmedChecked: 0 };
/** Raw phases, bump rule (row) against the generic rule (column), alone and with the check. */
const confusion = { alone: new Map<string, number>(), checked: new Map<string, number>() };
const count = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1);
for (const dir of runs) {
  const events = readRunEvents(dir);
  const start = events.find((e) => e.type === 'run-start');
  const config = (start?.type === 'run-start' ? start.meta.config : {}) as Record<string, unknown>;
  const confirm = typeof config.confirm === 'number' ? config.confirm : 2;
  const tol = typeof config.tol === 'number' ? config.tol : 1;
  const bump = new Map<number, AssessmentEvent>();
  for (const e of events) if (e.type === 'assessment') bump.set(e.step, e);
  const none: HysteresisState = { phase: null, candidate: null, streak: 0 };
  let hb = none;
  let ha = none;
  let hc = none;
  console.log(`\n${dir} (confirm ${confirm})`);
  console.log(
    '| step | bump raw | dim | structure | R² x | R² y | samples ok | generic alone | generic + image check | confirmed: bump / alone / + check |',
  );
  console.log(
    '| ---- | -------- | --- | --------- | ---- | ---- | ---------- | ------------- | --------------------- | -------------------------------- |',
  );
  for (const e of events) {
    if (e.type !== 'snapshot') continue;
    const a = bump.get(e.step);
    if (!a || a.warning) continue;
    const arrays = readSnapshotArrays(join(dir, e.file));
    const n = arrays.labels.length / 2;
    const px = e.size * e.size;
    const x = new Float32Array(n);
    const y = new Float32Array(n);
    const ok = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = arrays.labels[2 * i];
      y[i] = arrays.labels[2 * i + 1];
      const b = locateBump(arrays.images.subarray(i * px, (i + 1) * px), e.size);
      ok[i] = b.count === 1 && Math.abs(b.x - x[i]) <= tol && Math.abs(b.y - y[i]) <= tol ? 1 : 0;
    }
    const snap: Snapshot = {
      runId: 'agreement',
      step: e.step,
      size: 0,
      labels: new Float32Array(0),
      images: new Float32Array(0),
      activations: arrays.activations,
      dim: e.dim,
      factors: { x: { values: x }, y: { values: y } },
    };
    const alone = await assessRepresentation(snap, { embed: 'pca' });
    const checked = await assessRepresentation({ ...snap, samplesOk: ok }, { embed: 'pca' });
    hb = nextHysteresis(hb, a.rawPhase, confirm);
    ha = nextHysteresis(ha, alone.phase, confirm);
    hc = nextHysteresis(hc, checked.phase, confirm);
    total++;
    count(confusion.alone, `${a.rawPhase}${alone.phase}`);
    count(confusion.checked, `${a.rawPhase}${checked.phase}`);
    if (alone.phase === a.rawPhase) agree.alone++;
    if (checked.phase === a.rawPhase) agree.checked++;
    if (ha.phase === hb.phase) agree.confirmedAlone++;
    if (hc.phase === hb.phase) agree.confirmedChecked++;
    const ev = alone.evidence;
    const p = (h: HysteresisState) => (h.phase ?? '-') as Phase | '-';
    console.log(
      `| ${e.step} | ${a.rawPhase} | ${f(ev.intrinsicDim)} | ${f(ev.structure)} | ${f(ev['r2/x'])} | ${f(ev['r2/y'])} | ${f(checked.evidence.samplesOk)} | ${alone.phase} | ${checked.phase} | ${p(hb)} / ${p(ha)} / ${p(hc)} |`,
    );
  }
}
const pct = (k: number) => `${k}/${total} (${Math.round((100 * k) / Math.max(1, total))} %)`;
console.log(
  `\nraw phase agreement with the bump rule: representation alone ${pct(agree.alone)}, with the image check ${pct(agree.checked)}`,
);
console.log(
  `confirmed phase agreement: alone ${pct(agree.confirmedAlone)}, with the image check ${pct(agree.confirmedChecked)}`,
);
for (const [label, m] of Object.entries(confusion)) {
  console.log(`\nbump rule (rows) against the generic rule ${label} (columns), raw phases:`);
  console.log('|   | A | B | C |\n| - | - | - | - |');
  for (const r of ['A', 'B', 'C']) {
    console.log(`| ${r} | ${['A', 'B', 'C'].map((c) => m.get(r + c) ?? 0).join(' | ')} |`);
  }
}
