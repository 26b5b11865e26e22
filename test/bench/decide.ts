// Time of one engine decision on a 30,000-workload fleet (40 clusters × 750) with every report present.
// Run after `npx tsc -b services/planner`: node_modules/.bin/node test/bench/decide.ts
import { performance } from 'node:perf_hooks';
import { Inventory, RolloutSpec, type UnitProgress } from '@meshwave/contracts';
import { planRollout } from '@meshwave/plan';
import {
  applyProgressDelta,
  buildRolloutStatus,
  decide,
  desiredContents,
  digestOf,
  emptyObservations,
  newRolloutRecord,
  newRolloutState,
  observeUnits,
  type Observations,
} from '@meshwave/planner';

const clusters = 40,
  perCluster = 750; // 30,000 workloads
const inv = Inventory.parse({
  clusters: Array.from({ length: clusters }, (_, c) => ({
    name: `c${c}`,
    labels: { env: 'prod' },
    workloads: Array.from({ length: perCluster }, (_, w) => ({
      namespace: `ns-${w % 50}`,
      kind: 'Deployment',
      name: `w${w}`,
      revision: '1-24-5',
    })),
  })),
});
const spec = RolloutSpec.parse({
  apiVersion: 'meshwave.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'b' },
  spec: {
    from: '1-24-5',
    to: '1-25-2',
    deadline: '2030-01-01T00:00:00Z',
    waves: [
      { name: 'a', percent: 1 },
      { name: 'b', percent: 10 },
      { name: 'c', percent: 100 },
    ],
  },
});
const now = new Date('2026-11-23T10:00:00Z');
const plan = planRollout(spec, inv, { now });
const record = newRolloutRecord({ id: 'r', spec, plan, inventory: inv, createdBy: 'b', now });
let state = newRolloutState(now);
// dispatch all three waves' worth of desired state, then time steady-state decisions with full reports
state = { ...state, phase: 'Running', wavePhase: 'Converging', wave: 2, dispatchedWaves: 3 };
let d = decide({ record, state, observations: emptyObservations(), now, epoch: 1 });
state = d.state;
const reports = new Map<string, UnitProgress>();
for (const c of d.commands)
  if (c.kind === 'cluster')
    reports.set(c.data.cluster, {
      cluster: c.data.cluster,
      rolloutId: 'r',
      generation: c.data.generation,
      halted: false,
      units: c.data.units.map((u) => ({ ...u, state: 'restarting', revision: u.revision, injectedRevision: null })),
    });
const obs: Observations = { ...emptyObservations(), clusters: reports };
const n = 50;
const t0 = performance.now();
for (let i = 0; i < n; i++) d = decide({ record, state, observations: obs, now, epoch: 1 });
const ms = (performance.now() - t0) / n;
console.log(
  `decide(): ${clusters * perCluster} workloads, ${plan.waves.length} waves, ${d.commands.length} commands → ${ms.toFixed(1)} ms per decision (mean of ${n})`,
);
let t = performance.now();
for (let i = 0; i < 5; i++) observeUnits(record, state, obs, [0, 1, 2]);
console.log('observeUnits all', ((performance.now() - t) / 5).toFixed(1));
t = performance.now();
let cs = desiredContents(record, state);
for (let i = 1; i < 5; i++) cs = desiredContents(record, state);
console.log('desiredContents', ((performance.now() - t) / 5).toFixed(1));
t = performance.now();
for (let i = 0; i < 5; i++) for (const c of cs) digestOf(c.data);
console.log('digest', ((performance.now() - t) / 5).toFixed(1));

// A status read after one cluster reported (the operator's poll while units move), against a read of the same
// inputs from scratch (copies: nothing kept from an earlier read answers). Issue 15: it was as dear as a fresh one.
const fresh = Array.from({ length: 3 }, () => structuredClone({ record, state, obs }));
t = performance.now();
for (const f of fresh) buildRolloutStatus(f.record, f.state, f.obs, now);
const scratchMs = (performance.now() - t) / fresh.length;
let polled = obs;
buildRolloutStatus(record, state, polled, now);
const polls = 20;
t = performance.now();
for (let i = 0; i < polls; i++) {
  const cluster = `c${i % clusters}`;
  const clustersNow = new Map(polled.clusters);
  clustersNow.set(cluster, { ...polled.clusters.get(cluster)! });
  polled = { ...polled, clusters: clustersNow };
  buildRolloutStatus(record, state, polled, now);
}
const pollMs = (performance.now() - t) / polls;
console.log(
  `status read after one cluster of ${clusters} reported: ${pollMs.toFixed(2)} ms; from scratch ${scratchMs.toFixed(1)} ms (ratio ${(pollMs / scratchMs).toFixed(3)})`,
);

// A decision after one cluster's agent sent a progress delta of a few units (ADR 0068), against one after the same
// cluster sent its whole report (a new report: every unit of that cluster is observed again). Issue 15: a delta
// cost its whole cluster.
const changed = 5;
const rounds = 40;
const chained = new Map([...reports].map(([c, r]) => [c, { ...r, seq: 1 }]));
let seqObs: Observations = { ...obs, clusters: chained };
decide({ record, state, observations: seqObs, now, epoch: 1 });
const timeRounds = (next: (held: UnitProgress, i: number) => UnitProgress): number => {
  let spent = 0;
  for (let i = 0; i < rounds; i++) {
    const cluster = `c${i % clusters}`;
    const clustersNow = new Map(seqObs.clusters);
    clustersNow.set(cluster, next(seqObs.clusters.get(cluster)!, i));
    seqObs = { ...seqObs, clusters: clustersNow };
    const start = performance.now();
    decide({ record, state, observations: seqObs, now, epoch: 1 });
    spent += performance.now() - start;
  }
  return spent / rounds;
};
const wholeMs = timeRounds((held) => ({ ...held, units: held.units.map((u) => ({ ...u })) }));
const deltaMs = timeRounds((held, i) => {
  const { units, seq, ...rest } = held;
  const upserted = units
    .slice((i * changed) % (perCluster - changed), ((i * changed) % (perCluster - changed)) + changed)
    .map((u) => ({ ...u, state: 'converged' as const, revision: '1-25-2', injectedRevision: '1-25-2' }));
  const r = applyProgressDelta(held, { ...rest, seq: seq! + 1, base: seq!, upserted, removed: [] });
  if (r.kind !== 'applied') throw new Error(`delta not applied: ${r.kind}`);
  return r.report;
});
console.log(
  `decide() after one cluster's delta of ${changed} units: ${deltaMs.toFixed(2)} ms; after its whole report ${wholeMs.toFixed(2)} ms (ratio ${(deltaMs / wholeMs).toFixed(3)})`,
);
