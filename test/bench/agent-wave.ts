// One cluster agent taking a big wave at once, on a simulated cluster in this process (issue 15): N workloads
// (default 2,000, in namespaces of 500, 2 replicas) move from 1-24-5 to 1-25-2 at workload granularity with
// maxUnavailable M (default 180), as fleet (b)'s prod-all wave gives each of its clusters. Measured: the agent's
// CPU time from the command until its first restart is issued ("first start"), and until every unit is converged,
// beside a floor that observes and assesses each unit once by itself (the pure decision, no agent around it).
// Options: --workloads N, --max-unavailable M, --pod-start-ms MS (default 600), --fleet-intervals (the intervals the
// fleet benchmark's agents run with: a resync every 5 s, health and heartbeat every 2 s, 200 ms debounces; default:
// the agent's own). Needs `npx tsc -b` (imports dist).
import { performance } from 'node:perf_hooks';
import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import { MessageType, UnitState, clusterKey, type ClusterDesiredState } from '@meshwave/contracts';
import { createClusterAgent, createSimulatedCluster, assessUnit, observeUnit } from '@meshwave/cluster-agent';
import { optionValue } from '../support/command-line.ts';

const N = Number(optionValue('--workloads') ?? 2000);
const MAX_UNAVAILABLE = Number(optionValue('--max-unavailable') ?? 180);
const POD_START_MS = Number(optionValue('--pod-start-ms') ?? 600);
const FLEET_INTERVALS = process.argv.includes('--fleet-intervals');
const PER_NS = 500;
const OLD = '1-24-5';
const NEW = '1-25-2';
const SIGNING = { keys: [{ id: 'k1', secret: 'x'.repeat(32) }], activeKeyId: 'k1' };

const namespaces = Array.from({ length: Math.ceil(N / PER_NS) }, (_, n) => ({
  name: `team-${n + 1}`,
  workloads: Array.from({ length: Math.min(PER_NS, N - n * PER_NS) }, (_, i) => ({
    name: `w-${i}`,
    replicas: 2,
    templateLabels: { 'istio.io/rev': OLD },
  })),
}));
const sim = createSimulatedCluster({ name: 'c1', podStartMs: POD_START_MS, revisions: [OLD, NEW], namespaces });
const broker = createInMemoryBroker();
const planner = createInMemoryBus({ source: 'planner', signing: SIGNING, broker });
const agentBus = createInMemoryBus({ source: clusterKey('c1'), signing: SIGNING, broker });
const agent = createClusterAgent({
  cluster: 'c1',
  kubernetes: sim,
  bus: agentBus,
  store: createInMemoryStore(),
  epoch: 1,
  // as startClusterAgents (services/cli/src/demo/simulated-fleet-parts.ts) gives the fleet's agents
  ...(FLEET_INTERVALS
    ? {
        intervals: {
          resyncMs: 5_000,
          heartbeatMs: 2_000,
          healthMs: 2_000,
          inventoryDebounceMs: 200,
          progressDebounceMs: 200,
        },
      }
    : {}),
});
await agent.start();

const units = namespaces.flatMap((ns) =>
  ns.workloads.map((w) => ({ namespace: ns.name, kind: 'Deployment' as const, name: w.name, revision: NEW })),
);
const command: ClusterDesiredState = {
  rolloutId: 'r1',
  wave: 0,
  generation: 1,
  epoch: 1,
  cluster: 'c1',
  from: OLD,
  to: NEW,
  granularity: 'workload',
  maxUnavailable: MAX_UNAVAILABLE,
  halted: false,
  progressDeadlineSeconds: 600,
  units,
};

// the floor: each unit assessed once by the pure decision, on observations built beforehand (not timed)
const workloads = await sim.listWorkloads();
const pods = await sim.listPods();
const podsByWorkload = new Map<string, (typeof pods)[number][]>();
for (const p of pods) {
  const key = `${p.namespace}/${p.labels['app'] ?? ''}`;
  podsByWorkload.set(key, [...(podsByWorkload.get(key) ?? []), p]);
}
const assignment = (u: (typeof units)[number]) => ({
  target: u,
  granularity: 'workload' as const,
  rolloutId: 'r1',
  generation: 1,
  wave: 0,
  progressDeadlineSeconds: 600,
});
const observed = units.map((u) => {
  const own = workloads.filter((w) => w.namespace === u.namespace && w.name === u.name);
  return { a: assignment(u), o: observeUnit(u, undefined, own, podsByWorkload.get(`${u.namespace}/${u.name}`) ?? []) };
});
const floorStart = process.cpuUsage();
for (const { a, o } of observed) assessUnit(a, o, Date.now());
const floorCpu = cpuMs(floorStart);
console.log(`command at ${process.uptime().toFixed(1)} s since start`);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await planner.publish([
  {
    topic: 'commands',
    key: clusterKey('c1'),
    audience: clusterKey('c1'),
    type: MessageType.ClusterDesiredState,
    data: command,
  },
]);
let firstStartCpu: number | undefined;
let firstStartMs: number | undefined;
// The first start is looked for every 5 ms (a counter); convergence every 100 ms: listing 2,000 units every 5 ms
// was itself a tenth of the CPU measured in a wave of a minute.
for (let tick = 0; ; tick++) {
  if (firstStartCpu === undefined && sim.stats().patches > 0) {
    firstStartCpu = cpuMs(cpu0);
    firstStartMs = performance.now() - t0;
  }
  if (tick % 20 === 0) {
    const statuses = agent.units();
    if (statuses.length === N && statuses.every((s) => s.state === UnitState.Converged)) break;
  }
  await new Promise((r) => setTimeout(r, 5));
}
const allCpu = cpuMs(cpu0);
const allMs = performance.now() - t0;
await agent.stop();
console.log(
  `agent wave: ${N} workloads, maxUnavailable ${MAX_UNAVAILABLE}, pod start ${POD_START_MS} ms` +
    `${FLEET_INTERVALS ? ", the fleet's intervals" : ''}: first start after ${firstStartMs?.toFixed(0)} ms ` +
    `(CPU ${firstStartCpu?.toFixed(0)} ms), all converged after ${allMs.toFixed(0)} ms (CPU ${allCpu.toFixed(0)} ms, ` +
    `${((allCpu / N) * 1000).toFixed(0)} µs a unit); floor (each unit assessed once) CPU ${floorCpu.toFixed(0)} ms; ` +
    `CPU to first start / floor ${((firstStartCpu ?? NaN) / floorCpu).toFixed(1)}x, whole wave / floor ` +
    `${(allCpu / floorCpu).toFixed(1)}x`,
);
process.exit(0);

function cpuMs(from: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1000;
}
