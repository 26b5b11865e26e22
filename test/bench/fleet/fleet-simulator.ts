// The fleet benchmark's second process (process mode): the demo's simulated clusters with one real cluster-agent
// each, and the real vm-bridge with simulated VM hosts, on the real Kafka and Redis the planner process uses
// (configured by the services' own MESHWAVE_* variables, ADR 0016). It serves the simulated workloads' Istio
// request metrics on /metrics/<cluster>, registered with the run's own Prometheus by file-based service
// discovery, and the fleet's ground truth on /ground-truth?to=REV&excluded=KEY,KEY.
//   node test/bench/fleet/fleet-simulator.ts --fleet FILE (JSON, as fleet-files.ts writes it) --to REV --target-file F --run ID
//     [--clusters NAME,NAME] [--vm-bridge]
// (F: a file in the Prometheus's file-SD directory). With --clusters and/or --vm-bridge it plays only that part of
// the fleet (sim-split.ts, ADR 0067: the bench runs several of them); with neither, the whole fleet.
// Prints one JSON line {"port":N} once every part runs; stops (and unregisters its target) on SIGTERM, SIGINT
// or when its stdin closes (the benchmark that started it is gone).
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createBusFor } from '@meshwave/bus';
import type { SimulatedCluster } from '@meshwave/cluster-agent';
import {
  DemoFleetConfig,
  SimulatedIstioExposition,
  simulatedClustersOf,
  startClusterAgents,
  startSimulatedVms,
  peakRestarting,
  workloadsOnTarget,
  type SimulatedFleetWiring,
} from '@meshwave/cli';
import { clusterKey, formatConfigProblems, readBackingServices } from '@meshwave/contracts';
import { createStoreFor } from '@meshwave/store';
import { createLogger, silentLogger, type Logger } from '@meshwave/telemetry';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { KEYS_DIR_VARIABLE, signingFromFiles } from '../../support/signing-fleet.ts';
import { clusterLabelOf } from './fleet-files.ts';
import { scrapeAnswers } from './scrape-answers.ts';
import { fleetOfPart, partOf } from './sim-split.ts';

const { values } = parseArgs({
  options: {
    fleet: { type: 'string' },
    to: { type: 'string' },
    'target-file': { type: 'string' },
    run: { type: 'string' },
    clusters: { type: 'string' },
    'vm-bridge': { type: 'boolean', default: false },
  },
});
const { fleet: fleetFile, to, 'target-file': targetFile, run } = values;
if (!fleetFile || !to || !targetFile || !run)
  throw new Error('usage: fleet-simulator.ts --fleet FILE --to REV --target-file F --run ID');
const scrapeTargets: string = targetFile;

const wholeFleet = DemoFleetConfig.parse(JSON.parse(fs.readFileSync(fleetFile, 'utf8')));
const part = partOf(wholeFleet, values.clusters, values['vm-bridge']);
const backing = readBackingServices(process.env);
// each member it plays signs with its own Ed25519 key, as on Kafka every process does (ADR 0038, 0046)
const keysDir = process.env[KEYS_DIR_VARIABLE];
if (backing.problems.length > 0 || backing.services === undefined || keysDir === undefined)
  throw new Error(
    formatConfigProblems([
      ...backing.problems,
      ...(keysDir ? [] : [{ variable: KEYS_DIR_VARIABLE, message: 'missing' }]),
    ]),
  );
const services = backing.services;
/** `cluster-agent/<name>` plays cluster `<name>`; `vm-bridge` the bridge */
const memberOf = (source: string): string => source.replace(/^cluster-agent\//, '');
/** the source a real agent publishes as (`cluster/<name>`): an Ed25519 key speaks for its own principal only */
const sourceOf = (member: string): string => (member === 'vm-bridge' ? member : clusterKey(member));

const stops: (() => Promise<void>)[] = [];
/** the agents' log: their warnings, and each command they accepted; nothing per unit */
const commandLog: Logger = createLogger({
  service: 'cluster-agent',
  level: 'info',
  destination: {
    write: (line: string) => {
      if (line.includes('"command accepted"') || !line.includes('"level":"info"')) process.stderr.write(line);
    },
  },
});

/**
 * Every 10 s, a line with each cluster's units on `to` that changed since the last line (ground truth) and this
 * process's event-loop delay and CPU: how each cluster moved, and whether the process kept up, after the run. A
 * cluster whose units are all on `to` is not counted again (nothing moves it back in this fleet): counting every
 * cluster every 5 s took 12.7% of a simulator's CPU during prod-all.
 */
function traceProgress(clusters: readonly SimulatedCluster[]): () => void {
  const delay = monitorEventLoopDelay({ resolution: 20 });
  delay.enable();
  const last = new Map<string, number>();
  const done = new Set<string>();
  const timer = setInterval(() => {
    void (async () => {
      const changed: Record<string, number> = {};
      for (const c of clusters) {
        if (done.has(c.name)) continue;
        const { onTarget, total } = await workloadsOnTarget([c], new Set(), to!);
        if (onTarget === total) done.add(c.name);
        if (last.get(c.name) !== onTarget) changed[c.name] = onTarget;
        last.set(c.name, onTarget);
      }
      const cpu = process.cpuUsage();
      const line = {
        at: new Date().toISOString(),
        onTarget: changed,
        loopP99Ms: Math.round(delay.percentile(99) / 1e6),
        loopMaxMs: Math.round(delay.max / 1e6),
        cpuSeconds: Math.round((cpu.user + cpu.system) / 1e5) / 10,
      };
      delay.reset();
      process.stderr.write(`${JSON.stringify(line)}\n`);
    })();
  }, 10_000);
  return () => {
    clearInterval(timer);
    delay.disable();
  };
}
const wiring: SimulatedFleetWiring = {
  busFor: (source) => {
    const bus = createBusFor(services, {
      source: sourceOf(memberOf(source)),
      signing: signingFromFiles(keysDir, memberOf(source)),
      logger: silentLogger(),
    });
    stops.push(() => bus.close());
    return bus;
  },
  storeFor: () => {
    const store = createStoreFor(services);
    stops.push(() => store.close());
    return store;
  },
  // the run's own consumer groups: a shared Kafka may hold the groups of earlier runs
  consumerGroupPrefix: `bench-${run}.`,
  onStarted: (stop) => stops.push(stop),
  // when each agent accepted each command, in the process's kept log (a line per command, not per unit)
  loggerFor: () => commandLog,
};

let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    fs.rmSync(scrapeTargets, { force: true });
    // every part gets its stop, even when one fails: the process exits either way
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
  }
  process.exit(code);
}
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
process.stdin.resume();
process.stdin.on('end', () => void stop(0));
process.stdin.on('error', () => void stop(0));

try {
  const fleet = fleetOfPart(wholeFleet, part);
  const clusters = simulatedClustersOf(fleet);
  for (const c of clusters) stops.push(() => Promise.resolve(c.close()));
  const namespaces = new Map(fleet.clusters.map((c) => [c.name, c.namespaces]));
  const series = new SimulatedIstioExposition(
    clusters,
    (c) => namespaces.get(c) ?? [],
    to,
    undefined,
    clusterLabelOf(run),
    // the latency bounds the gate's p99 needs only: 5 series a workload instead of 11, the same p99s (ADR 0065)
    'needed',
  );

  const answer = scrapeAnswers((cluster, now) => series.render(cluster, now));

  const vms = part.vmBridge ? await startSimulatedVms(fleet, wiring) : undefined;
  await startClusterAgents(fleet, clusters, wiring);
  if (clusters.length > 0) {
    const stopTrace = traceProgress(clusters);
    stops.push(() => Promise.resolve(stopTrace()));
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const cluster = /^\/metrics\/([^/]+)$/.exec(url.pathname)?.[1];
    if (cluster !== undefined && series.has(cluster)) {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(
        answer(cluster, {
          timeoutSeconds: Number(req.headers['x-prometheus-scrape-timeout-seconds'] ?? 0),
          clientGone: req.socket.destroyed,
        }),
      );
      return;
    }
    if (url.pathname === '/ground-truth') {
      const target = url.searchParams.get('to') ?? to;
      const excluded = new Set((url.searchParams.get('excluded') ?? '').split(',').filter((k) => k !== ''));
      void workloadsOnTarget(clusters, excluded, target).then((units) =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ units, vmGroups: vms?.inventory() ?? [], peakRestarting: peakRestarting(clusters) })),
      );
      return;
    }
    res.writeHead(404).end();
  });
  stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  // One scrape target per cluster: Prometheus scrapes them in parallel, each a thousand workloads or two, as often
  // as the run's own Prometheus is configured to (bench-prometheus.ts; scrapeIntervalOf in fleet-files.ts).
  const groups = fleet.clusters.map((c) => ({
    targets: [`127.0.0.1:${port}`],
    labels: {
      __metrics_path__: `/metrics/${c.name}`,
      meshwave_bench: run,
      // the targets share host and port: without a label of their own, their `up` and scrape series would collide
      meshwave_bench_target: c.name,
    },
  }));
  fs.writeFileSync(`${scrapeTargets}.tmp`, JSON.stringify(groups));
  fs.renameSync(`${scrapeTargets}.tmp`, scrapeTargets); // Prometheus never reads half a file
  process.stdout.write(`${JSON.stringify({ port })}\n`);
} catch (err) {
  process.stderr.write(`fleet simulator: ${(err as Error).stack ?? String(err)}\n`);
  await stop(1);
}
