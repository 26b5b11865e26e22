// `npm run bench -- halt`: halt latency on the fleet of processes (test/support/fleet-processes.ts: the planner,
// one cluster-agent per apiserver, the vm-bridge and 8 vm-agents, as README's "Run it for real" starts them).
//  1. crash loop → halt, TRIALS times: a rollout moves every Deployment and the VM group to a revision whose pods
//     crash-loop (the injector double's `crashloop` fault, a revision of this benchmark only); measured from the
//     moment the benchmark's own pod watch sees the first pod in CrashLoopBackOff to the moment the last of the
//     cluster-agents and the vm-bridge logged the halt as applied ("command accepted", type halt; their JSON
//     log's time: one machine, one clock); then the rollout is rolled back and the next trial starts;
//  2. fleet-wide freeze, TRIALS times: a healthy rollout soaking, `POST /v1/freeze` → the halt applied by every
//     agent and the bridge; `DELETE /v1/freeze` and the commands resent before the next trial;
//  3. baseline in the same run: a raw kafkajs publish → consume round trip on the same broker.
// Prints p50/p99 of each (p99 of 20 trials is their maximum), each as a multiple of the raw round trip's p50/p99, and
// the halt's p99 against the goal, 500 ms. Trials start once every service's probe says ready (ADR 0054). A figure,
// never an assertion: nothing here fails on time. Needs
// `npm run build` and `npm run env:up` (3 apiservers).
// Options: --trials N (default 20); --budget-minutes M (default 20): no trial starts after M minutes, and a trial
// that does not complete ends its series; either way the figures of the trials done are printed (n says how many).
// The process exits by itself at the latest 15 minutes past the budget.
import * as k8s from '@kubernetes/client-node';
import { MessageType } from '@meshwave/contracts';
import { registerRevision, unregisterRevision } from '../env/injector/registration.ts';
import { newIstiod } from '../integration/cluster-agent/fixtures.ts';
import { optionValue } from '../support/command-line.ts';
import { eventually } from '../support/eventually.ts';
import { applyRollout, drillRolloutYaml, fleetApi, waitForPhase } from '../support/fleet-api.ts';
import { waitForFleetReady } from '../support/fleet-readiness.ts';
import { RUN_LABEL, registerInventory, startFleet, type Fleet, type FleetApi } from '../support/fleet-processes.ts';
import type { ServiceProcess } from '../support/service-process.ts';
import { percentile } from './bus-store-fixtures.ts';
import { formatHops, haltHops, hopSummary, type HaltHops } from './halt/halt-hops.ts';
import { kafkaRoundTrips } from './halt/kafka-round-trip.ts';

const TRIALS = Number(optionValue('--trials') ?? 20);
const BUDGET_MS = Number(optionValue('--budget-minutes') ?? 20) * 60_000;
const GOAL_P99_MS = 500;
/** the crash-looping revision, registered for this benchmark only (no other test's pods carry it) */
const BAD = '1-26-9';
const HARD_LIMIT_MS = BUDGET_MS + 15 * 60_000;
const benchStarted = Date.now();
const hardStop = setTimeout(() => {
  console.error(`halt bench: still running after ${HARD_LIMIT_MS / 60_000} min, giving up`);
  process.exit(2);
}, HARD_LIMIT_MS);
hardStop.unref();

/** When `p` logged a command of `type` accepted, after its first `from` lines (the log line's own time, ms). */
function acceptedAt(p: ServiceProcess, from: number, type: string | readonly string[]): number | undefined {
  const types: readonly string[] = typeof type === 'string' ? [type] : type;
  const line = p.lines
    .slice(from)
    .find((l) => l.json?.['msg'] === 'command accepted' && types.includes(String(l.json['type'])));
  const time = line?.json?.['time'];
  return typeof time === 'string' ? Date.parse(time) : undefined;
}

/** The services a halt must reach: every cluster-agent and the vm-bridge. */
function haltTargets(f: Fleet): ServiceProcess[] {
  return [...f.agents.values(), f.bridge];
}

/** Log positions of `ps` now: what is logged from here on belongs to the next trial. */
function positions(ps: readonly ServiceProcess[]): Map<ServiceProcess, number> {
  return new Map(ps.map((p) => [p, p.lines.length]));
}

/** Waits until every one of `ps` logged `type` accepted since `from`; the latest of those times. */
async function lastAccepted(
  from: Map<ServiceProcess, number>,
  type: string | readonly string[],
  what: string,
): Promise<number> {
  return eventually(
    what,
    () => {
      const times = [...from].map(([p, at]) => acceptedAt(p, at, type));
      return times.every((t) => t !== undefined) ? Math.max(...(times as number[])) : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 20 },
  );
}

/**
 * Waits until a dry run of `yaml` plans every workload: the last trial's rollback is in the planner's inventory (a
 * workload still moving back would be skipped, and its agent would get nothing to halt).
 */
async function wholeFleetPlanned(api: FleetApi, yaml: string): Promise<void> {
  await eventually(
    'every workload on the old revision in the planner inventory',
    async () => (await api<{ skipped?: unknown[] }>('POST', '/v1/plans', yaml)).body.skipped?.length === 0,
    120_000,
  );
}

/** Watches the fleet's pods on every apiserver; `firstCrashLoopSince(t)` is when one was first seen crash-looping. */
class CrashLoopWatch {
  private readonly seen: number[] = [];
  private readonly informers: k8s.Informer<k8s.V1Pod>[] = [];
  private readonly crashed = new Set<string>();

  async start(f: Fleet): Promise<void> {
    for (const c of f.clusters) {
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(c.env.kubeconfig);
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const selector = `${RUN_LABEL}=${f.id}`;
      const informer = k8s.makeInformer<k8s.V1Pod>(
        kc,
        '/api/v1/pods',
        () => core.listPodForAllNamespaces({ labelSelector: selector }),
        selector,
      );
      const onPod = (p: k8s.V1Pod): void => {
        const key = `${c.name}/${p.metadata?.namespace}/${p.metadata?.name}`;
        const looping = (p.status?.containerStatuses ?? []).some(
          (s) => s.state?.waiting?.reason === 'CrashLoopBackOff',
        );
        if (looping && !this.crashed.has(key)) {
          this.crashed.add(key);
          this.seen.push(Date.now());
        }
      };
      informer.on('add', onPod);
      informer.on('update', onPod);
      await informer.start();
      this.informers.push(informer);
    }
  }

  firstCrashLoopSince(t: number): number | undefined {
    return this.seen.find((s) => s >= t);
  }

  async stop(): Promise<void> {
    for (const i of this.informers) await i.stop();
  }
}

interface Figures {
  readonly p50: number;
  readonly p99: number;
}

/** Prints a series' p50/p99 (and, given the raw round trip's, each as a multiple of it). */
function summary(label: string, ms: readonly number[], raw?: Figures): Figures | undefined {
  const sorted = [...ms].sort((a, b) => a - b);
  if (sorted.length === 0) {
    console.log(`${label.padEnd(58)} no trial completed`);
    return undefined;
  }
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  const ratio = raw === undefined ? '' : `   = ${(p50 / raw.p50).toFixed(1)}× / ${(p99 / raw.p99).toFixed(1)}× raw`;
  console.log(
    `${label.padEnd(58)} p50 ${p50.toFixed(1).padStart(7)} ms   p99 ${p99.toFixed(1).padStart(7)} ms${ratio}   (n=${ms.length}, min ${sorted[0]?.toFixed(1)} ms)`,
  );
  return { p50, p99 };
}

/**
 * Runs `trial` up to TRIALS times while the budget lasts; a trial that fails ends the series (the fleet may be in
 * any state after it), keeping the figures of the trials done.
 */
async function series(what: string, trial: (i: number) => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    if (Date.now() - benchStarted > BUDGET_MS) {
      console.log(`  ${what}: budget spent after ${i} of ${TRIALS} trials`);
      break;
    }
    try {
      out.push(await trial(i));
    } catch (error) {
      console.log(`  ${what} ${i + 1}/${TRIALS} did not complete: ${error instanceof Error ? error.message : error}`);
      break;
    }
    console.log(`  ${what} ${i + 1}/${TRIALS}: ${out.at(-1)!.toFixed(0)} ms`);
  }
  return out;
}

/** `hops`: where each completed trial's time went, appended per trial. */
async function crashLoopTrials(f: Fleet, watch: CrashLoopWatch, hops: HaltHops[]): Promise<number[]> {
  const api = fleetApi(f);
  return series('trial', async (i) => {
    const agents = [...f.agents.values()];
    const from = positions(haltTargets(f));
    const logs = positions([...haltTargets(f), ...f.planners]);
    const yaml = drillRolloutYaml(f, {
      name: `halt-${f.id}-${i}`,
      to: BAD,
      waves: [100],
      vmWave: 0,
      vmMaxUnavailable: f.vmAgents.length,
      soak: '1s',
    });
    await wholeFleetPlanned(api, yaml);
    const since = Date.now();
    const id = await applyRollout(api, yaml);
    // The halt goes to the targets the wave dispatched: every agent and the bridge, unless a Deployment was left out
    // of the plan (its rollback from the last trial not yet in the inventory): the planner's log says how many.
    const halted = await eventually(
      `trial ${i}: the halt applied everywhere`,
      () => {
        const published = f.planners.flatMap((p) => p.messages('halt published')).find((m) => m['rolloutId'] === id);
        const times = [...from].map(([p, at]) => acceptedAt(p, at, MessageType.Halt)).filter((t) => t !== undefined);
        return published !== undefined && times.length >= Number(published['halts']) ? Math.max(...times) : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 20 },
    );
    const crashed = watch.firstCrashLoopSince(since);
    if (crashed === undefined) throw new Error(`trial ${i}: halted, but no pod was seen in CrashLoopBackOff`);
    hops.push(
      haltHops(logs, crashed, {
        agents,
        planners: f.planners,
        targets: haltTargets(f),
      }),
    );
    console.log(`    ${formatHops(hops.at(-1)!)}`);
    const back = await api(
      'POST',
      `/v1/rollouts/${encodeURIComponent(id)}/rollback`,
      JSON.stringify({ reason: 'halt bench' }),
      'application/json',
    );
    if (back.status !== 200)
      throw new Error(`trial ${i}: rollback answered ${back.status} ${JSON.stringify(back.body)}`);
    await waitForPhase(api, id, ['RolledBack'], 300_000);
    return halted - crashed;
  });
}

async function freezeTrials(f: Fleet): Promise<number[]> {
  const api = fleetApi(f);
  const targets = haltTargets(f);
  const started = positions(targets);
  // a healthy rollout that keeps soaking: every target dispatched and still active while the trials run
  const yaml = drillRolloutYaml(f, {
    name: `freeze-${f.id}`,
    waves: [100],
    vmWave: 0,
    soak: '30m',
  });
  await wholeFleetPlanned(api, yaml);
  const id = await applyRollout(api, yaml);
  await eventually(
    'every target dispatched',
    () =>
      [...f.agents.values()].every((p) => acceptedAt(p, started.get(p)!, MessageType.ClusterDesiredState)) &&
      acceptedAt(f.bridge, started.get(f.bridge)!, MessageType.VmGroupDesiredState),
    120_000,
  );
  const out = await series('freeze', async (i) => {
    const from = positions(targets);
    const sent = Date.now();
    const r = await api('POST', '/v1/freeze', JSON.stringify({ reason: `halt bench ${i}` }), 'application/json');
    if (r.status !== 200) throw new Error(`POST /v1/freeze: ${r.status} ${JSON.stringify(r.body)}`);
    // A freeze holds the rollout's targets: they get its desired state again, `halted`, as a new generation (the
    // rollout is soaking, so no other command is accepted meanwhile; a resend of the same generation is not).
    const halted = await lastAccepted(
      from,
      [MessageType.Halt, MessageType.ClusterDesiredState, MessageType.VmGroupDesiredState],
      `freeze ${i}: the halt applied everywhere`,
    );
    const resumed = positions(targets);
    await api('DELETE', '/v1/freeze', JSON.stringify({ reason: 'halt bench' }), 'application/json');
    // the next trial starts once the agents were told to go on (the commands resent after the freeze)
    await eventually(
      `freeze ${i}: the commands resent`,
      () => [...f.agents.values()].every((p) => acceptedAt(p, resumed.get(p)!, MessageType.ClusterDesiredState)),
      120_000,
    );
    return halted - sent;
  });
  await api(
    'POST',
    `/v1/rollouts/${encodeURIComponent(id)}/abort`,
    JSON.stringify({ reason: 'halt bench' }),
    'application/json',
  );
  return out;
}

let fleet: Fleet | undefined;
const watch = new CrashLoopWatch();
try {
  fleet = await startFleet({
    namespacesPerCluster: 1,
    deploymentsPerNamespace: 1,
    extraVersions: [BAD],
  });
  const f = fleet;
  for (const c of f.clusters) {
    await newIstiod(c.admin, BAD, '1.26.9');
    await registerRevision(c.env, f.env.injector!, {
      revision: BAD,
      version: '1.26.9',
      fault: 'crashloop',
    });
  }
  await watch.start(f);
  const api = fleetApi(f);
  // trials start on a fleet that says it is ready: each agent's converge loop and the bridge consuming commands
  await waitForFleetReady(f);
  await registerInventory(f, api);
  console.log(
    `fleet ${f.id}: 1 planner leader, ${f.agents.size} cluster-agents, the vm-bridge, ${f.vmAgents.length} vm-agents; ${TRIALS} trials each`,
  );
  const raw = await kafkaRoundTrips(f.env.kafka.brokers, TRIALS);
  const hops: HaltHops[] = [];
  const halts = await crashLoopTrials(f, watch, hops);
  const freezes = await freezeTrials(f).catch((error: unknown) => {
    console.log(`  freeze: ${error instanceof Error ? error.message : String(error)}`);
    return [];
  });
  console.log('');
  const k = summary('raw kafkajs publish → consume round trip (same broker)', raw);
  const h = summary(`halt: CrashLoopBackOff → halt applied by ${f.agents.size} agents + bridge`, halts, k);
  console.log(`  its hops, p50/p99 ms: ${hopSummary(hops)}`);
  summary('fleet-wide freeze: POST /v1/freeze → halt applied everywhere', freezes, k);
  if (h !== undefined)
    console.log(
      `halt p99 ${h.p99.toFixed(0)} ms against the goal of ${GOAL_P99_MS} ms: ${h.p99 <= GOAL_P99_MS ? 'met' : 'NOT met'}`,
    );
} finally {
  await watch.stop();
  if (fleet) {
    for (const c of fleet.clusters) {
      await unregisterRevision(c.env, BAD).catch(() => undefined);
      await c.admin.apps
        .deleteNamespacedDeployment({
          namespace: 'istio-system',
          name: `istiod-${BAD}`,
        })
        .catch(() => undefined);
    }
    await fleet.stop();
  }
}
