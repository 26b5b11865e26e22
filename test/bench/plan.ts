// Plans 100,000 workloads on 50 clusters plus 10,000 VM hosts and compares its thread CPU with two floors over
// the same units, measured in the same run: the bare one-pass stable-hash loop and the fair floor (each unit's key
// built, hashed and its object emitted; ADR 0023). Target: ≤ 3x the fair floor (median) and under a second.
import { Inventory, RolloutSpec, type InventoryWorkload, type Plan } from '@meshwave/contracts';
import { hashParts, hashWithSeed, planRollout, saltSeed } from '@meshwave/plan';

const CLUSTERS = 50;
const WORKLOADS = 100_000;
const VM_HOSTS = 10_000;
const RUNS = 7;

function newFleet(): Inventory {
  const clusters = Array.from({ length: CLUSTERS }, (_, c) => ({
    name: `${c < 5 ? 'staging' : 'prod'}-${c}`,
    labels: { env: c < 5 ? 'staging' : 'prod', region: `r${c % 4}` },
    workloads: [] as InventoryWorkload[],
  }));
  for (let i = 0; i < WORKLOADS; i++) {
    clusters[i % CLUSTERS]!.workloads.push({
      namespace: `team-${(i * 7) % 300}`,
      kind: i % 10 === 0 ? 'StatefulSet' : 'Deployment',
      name: `svc-${i}`,
      labels: { tier: i % 3 === 0 ? 'low' : 'high', team: `t${i % 300}` },
      revision: i % 50 === 0 ? '1-25-2' : '1-24-5',
      replicas: 2,
    });
  }
  const vmGroups = Array.from({ length: 20 }, (_, g) => ({
    name: `vm-${g}`,
    labels: { role: g % 2 === 0 ? 'edge' : 'batch' },
    hosts: Array.from({ length: VM_HOSTS / 20 }, (_, h) => ({ name: `host-${g}-${h}`, version: '1-24-5' })),
  }));
  return Inventory.parse({ clusters, vmGroups });
}

const spec = RolloutSpec.parse({
  apiVersion: 'meshwave.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'istio-1-25-2' },
  spec: {
    from: '1-24-5',
    to: '1-25-2',
    deadline: '2027-06-01T00:00:00Z',
    windows: { timezone: 'Europe/Paris', allow: [{ days: ['Mon', 'Tue', 'Wed', 'Thu'], from: '08:00', to: '17:00' }] },
    defaults: { soak: '1h', maxUnavailable: '10%' },
    waves: [
      { name: 'staging', select: { clusters: ['staging-*'] }, percent: 100, soak: '2h' },
      {
        name: 'prod-canary',
        select: { clusterLabels: { env: 'prod' }, workloadLabels: { tier: 'low' } },
        percent: 1,
        approval: true,
      },
      { name: 'prod-10', select: { clusterLabels: { env: 'prod' } }, percent: 10 },
      { name: 'prod-all', select: { clusterLabels: { env: 'prod' } }, percent: 100 },
    ],
    exclude: [{ namespaces: ['team-0', 'kube-system'] }],
    pins: [{ select: { namespaces: ['team-1*'] }, until: '2026-12-15T00:00:00Z' }],
    vms: [{ select: { groupLabels: { role: 'edge' } }, wave: 'prod-10', maxUnavailable: '5%' }],
  },
});

function bareFloor(inventory: Inventory): number {
  // The bare floor: the stable hash of each unit key, once; no key string, no output, no selection, no sorting.
  const seed = saltSeed('istio-1-25-2');
  let acc = 0;
  for (const c of inventory.clusters)
    for (const w of c.workloads) acc ^= hashParts(seed, c.name, w.namespace, w.kind, w.name);
  for (const g of inventory.vmGroups) for (const h of g.hosts) acc ^= hashParts(seed, 'vmgroup', g.name, h.name);
  return acc;
}

/**
 * The fair floor: what any planner must do per unit at least (ADR 0023): build its key, hash it with the same
 * stable hash, and emit its object in the plan. Still no selection, no ordering, no scheduling.
 */
function fairFloor(inventory: Inventory): { keys: string[]; hashes: number[]; out: object[] } {
  const seed = saltSeed('istio-1-25-2');
  const keys: string[] = [];
  const hashes: number[] = [];
  const out: object[] = [];
  for (const c of inventory.clusters) {
    for (const w of c.workloads) {
      const key = `${c.name}/${w.namespace}/${w.kind}/${w.name}`;
      keys.push(key);
      hashes.push(hashWithSeed(seed, key));
      out.push({ cluster: c.name, namespace: w.namespace, kind: w.kind, name: w.name });
    }
  }
  for (const g of inventory.vmGroups) {
    for (const h of g.hosts) {
      const key = `vmgroup/${g.name}/${h.name}`;
      keys.push(key);
      hashes.push(hashWithSeed(seed, key));
      out.push({ group: g.name, name: h.name, batch: 0 });
    }
  }
  return { keys, hashes, out };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

// CPU time of this thread (user + system; process.threadCpuUsage, Node ≥ 23.9), not wall time: on a shared
// 2-core machine the wall clock also counts the time other processes held the CPU, and process CPU would count
// the GC's helper threads too. Both thread CPU and wall time are printed.
function time(fn: () => void): { cpu: number; wall: number } {
  // Start from a clean heap, so each run pays for its own garbage and not for the previous one's.
  globalThis.gc?.();
  const c0 = process.threadCpuUsage();
  const t0 = process.hrtime.bigint();
  fn();
  const c = process.threadCpuUsage(c0);
  return { cpu: (c.user + c.system) / 1000, wall: Number(process.hrtime.bigint() - t0) / 1e6 };
}

const inventory = newFleet();
const now = new Date('2026-11-23T08:00:00Z');
// Round 0 is a warm-up (JIT, inline caches): run like the others, printed, and left out of the medians.
let plan!: Plan;
const rounds: { bare: number; fair: number; plan: number; wall: number }[] = [];
for (let i = 0; i <= RUNS; i++) {
  const bare = time(() => bareFloor(inventory));
  const fair = time(() => fairFloor(inventory));
  const planned = time(() => (plan = planRollout(spec, inventory, { now })));
  rounds.push({ bare: bare.cpu, fair: fair.cpu, plan: planned.cpu, wall: planned.wall });
}
const measured = rounds.slice(1);
const p = median(measured.map((r) => r.plan));
const bare = median(measured.map((r) => r.bare));
const fair = median(measured.map((r) => r.fair));
const wall = median(measured.map((r) => r.wall));
const moved = plan.waves.reduce((n, w) => n + w.workloads.length, 0);
const ms = (n: number): string => n.toFixed(1);
console.log(
  `plan: ${WORKLOADS} workloads on ${CLUSTERS} clusters + ${VM_HOSTS} VM hosts → ${plan.waves.length} waves, ${moved} workloads moved; ${RUNS} rounds after 1 warm-up, thread CPU ms`,
);
console.log('  round        plan    bare   fair   plan/bare  plan/fair');
rounds.forEach((r, i) =>
  console.log(
    `  ${i === 0 ? 'warm-up' : String(i).padStart(7)} ${ms(r.plan).padStart(7)} ${ms(r.bare).padStart(7)} ${ms(r.fair).padStart(6)} ${(r.plan / r.bare).toFixed(2).padStart(10)}x ${(r.plan / r.fair).toFixed(2).padStart(9)}x`,
  ),
);
console.log(
  `plan: median ${ms(p)} ms thread CPU (wall ${ms(wall)} ms); bare stable-hash loop ${ms(bare)} ms → ratio ${(p / bare).toFixed(2)}x; ` +
    `fair floor (key, hash, object per unit) ${ms(fair)} ms → ratio ${(p / fair).toFixed(2)}x ` +
    `(target ≤ 3x the fair floor and < 1000 ms): ${p / fair <= 3 && p < 1000 ? 'MET' : 'NOT MET'}`,
);
