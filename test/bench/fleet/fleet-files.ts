// The generated fleets of `npm run bench -- fleet`: sizes as issue 15 states them, in the demo's fleet schema.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoFleetConfig } from '@meshwave/cli';

/** One benchmark fleet: clusters of equal size, VM hosts split between the example's two VM groups. */
export interface FleetSize {
  readonly name: string;
  readonly clusters: number;
  readonly workloadsPerCluster: number;
  readonly vmHosts: number;
}

export const FLEETS: Readonly<Record<string, FleetSize>> = {
  /** a quick check of the benchmark itself (not run unless named) */
  s: { name: 's', clusters: 3, workloadsPerCluster: 100, vmHosts: 40 },
  a: { name: 'a', clusters: 10, workloadsPerCluster: 1_000, vmHosts: 1_000 },
  b: { name: 'b', clusters: 50, workloadsPerCluster: 2_000, vmHosts: 10_000 },
};

/** the fleet schema's limit per namespace: larger clusters get more namespaces */
const MAX_WORKLOADS_PER_NAMESPACE = 500;

/** The demo's timing (examples/demo-fleet.yml): 600 ms pod start, 400 ms VM restart, 3 s soaks. */
export const BENCH_TIMING = { podStartMs: 600, vmRestartMs: 400, soakSeconds: 3, progressDeadlineSeconds: 20 };

/**
 * A fleet the example rollout (examples/rollouts.yml) moves entirely: a tenth of the clusters (at least one)
 * are `staging-*` (its first wave), the rest `env: prod` (its canary, 10% and 100% waves); half the hosts in
 * the `role: edge` group (riding with prod-10), half in `role: batch` (prod-all). No faults: nothing is wrong
 * in this fleet, so every halt or failed unit is a false one.
 */
export function benchFleetConfig(size: FleetSize): DemoFleetConfig {
  const namespaces = Math.ceil(size.workloadsPerCluster / MAX_WORKLOADS_PER_NAMESPACE);
  const staging = Math.max(1, Math.round(size.clusters / 10));
  const pad = (i: number): string => String(i).padStart(2, '0');
  return {
    installed: '1-24-5',
    revisionLabel: 'workload',
    revisions: ['1-24-5', '1-25-2'],
    clusters: Array.from({ length: size.clusters }, (_, i) => {
      const env = i < staging ? 'staging' : 'prod';
      return {
        name: `${env}-${pad(i + 1)}`,
        labels: { env, region: `r${pad(i % 5)}` },
        namespaces: Array.from({ length: namespaces }, (_, n) => `team-${pad(n + 1)}`),
        workloadsPerNamespace: Math.ceil(size.workloadsPerCluster / namespaces),
      };
    }),
    vmGroups: [
      { name: 'edge-proxies', labels: { role: 'edge', env: 'prod' }, hosts: Math.ceil(size.vmHosts / 2) },
      { name: 'batch-workers', labels: { role: 'batch', env: 'prod' }, hosts: Math.floor(size.vmHosts / 2) },
    ],
    // no gateway: the bench measures the waves of workloads and hosts (the example's gateways section moves none)
    gateways: [],
    // no nodes either: the example's ambient section moves none (issue 15's fleets have no ambient mode)
    ambient: [],
    timing: BENCH_TIMING,
    faults: { crashLoop: [], slowRollout: [], sidecarMismatch: [] },
  };
}

/**
 * How the process mode's own Prometheus (ADR 0065) scrapes a fleet: every 2 s up to 20,000 workloads (fleet (a),
 * as before), then a second per 10,000 (fleet (b): 10 s). At 2 s fleet (b)'s 1.1 million series (5 a workload now)
 * were more than Prometheus and the simulator's exposition kept up with here: the scrapes took 3.4 s on average.
 */
export function scrapeIntervalOf(config: DemoFleetConfig): number {
  const workloads = config.clusters.reduce((n, c) => n + c.namespaces.length * c.workloadsPerNamespace, 0);
  return Math.max(DEFAULT_SCRAPE_INTERVAL_SECONDS, Math.ceil(workloads / WORKLOADS_PER_SCRAPE_SECOND));
}

/** the process mode's scrape interval of the bench's targets before ADR 0065, kept for fleets up to (a)'s size */
export const DEFAULT_SCRAPE_INTERVAL_SECONDS = 2;
const WORKLOADS_PER_SCRAPE_SECOND = 10_000;

/**
 * The fleet as the process mode runs it: a wave's soak (the window its metric gate judges when the soak ends) holds
 * two scrapes at least, so `increase()` over it has two samples; unchanged (the demo's 3 s) at the default
 * interval. The bound is computed from the plan, so it counts the longer soaks too.
 */
export function processModeConfig(config: DemoFleetConfig): DemoFleetConfig {
  const interval = scrapeIntervalOf(config);
  if (interval <= DEFAULT_SCRAPE_INTERVAL_SECONDS) return config;
  const soakSeconds = Math.max(config.timing.soakSeconds, 2 * interval);
  return { ...config, timing: { ...config.timing, soakSeconds } };
}

/** Writes the fleet file (JSON is YAML, so the demo reads it as it reads examples/demo-fleet.yml). */
export function writeFleetFile(dir: string, config: DemoFleetConfig, name: string): string {
  const path = join(dir, `fleet-${name}.yml`);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/**
 * The label naming a series' cluster in one process-mode run (the simulator's exposition, the planner's
 * MESHWAVE_PROMETHEUS_CLUSTER_LABEL): a label of its own per run, so the planner's queries read this run's series
 * only. When runs shared the test env's Prometheus it kept earlier runs' series in its head block (110,000 a run at
 * fleet (a)), and queries matching them all grew slower with every run (20 s and more after four runs); each run now
 * has a Prometheus of its own (ADR 0065), and the label stays as the planner's cluster label.
 */
export function clusterLabelOf(run: string): string {
  return `cluster_${run.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}
