// The real test environment without Docker: Kafka (KRaft), Redis (AOF), Prometheus (file-based service discovery
// of the tests' own exporters), N Kubernetes control planes (etcd + kube-apiserver + kube-controller-manager +
// kube-scheduler + kwok), the Istio injector double, helm for the chart tests, and Jaeger (v2) for the traces.
//
//   node test/env/env.ts up [--clusters N] [--no-kube]   start or reuse; writes $MESHWAVE_ENV_DIR/env.json
//   node test/env/env.ts status                          JSON health on stdout; exit 1 when not all healthy
//   node test/env/env.ts down                            stop everything this environment started
//   node test/env/env.ts restart|stop|start <kafka|redis|prometheus|injector|jaeger|kind-N>   for failure drills
//   node test/env/env.ts kubeconfig <cluster> <user> [group...]   kubeconfig of a new client-cert identity
//   node test/env/env.ts build                           fetch jars and build binaries (helm, jaeger) only (CI warm-up)
//
// State: ${MESHWAVE_ENV_DIR:-~/.cache/meshwave/run}; build cache: ${MESHWAVE_CACHE_DIR:-~/.cache/meshwave}.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENV_STATE_SCHEMA, parseEnvState, type ClusterState, type EnvState } from '../support/env-state.ts';
import { repointRegistrations } from './injector/registration.ts';
import { envFile, log, pidAlive, sleep, stateDir, writeFileAtomic } from './lib/common.ts';
import { downKafka, ensureKafkaJars, kafkaStatus, upKafka } from './lib/kafka.ts';
import { downRedis, ensureRedisServer, redisStatus, startRedis, upRedis } from './lib/redis.ts';
import { ensureKubeBinaries } from './lib/kube-binaries.ts';
import { writeUserKubeconfig } from './lib/kube-credentials.ts';
import { clusterStatus, downCluster, upCluster } from './lib/kube.ts';
import { downInjector, injectorStatus, upInjector } from './lib/injector-process.ts';
import { ensureHelm } from './lib/helm.ts';
import { downPrometheus, ensurePrometheus, prometheusStatus, startPrometheus, upPrometheus } from './lib/prometheus.ts';
import { downJaeger, ensureJaeger, jaegerStatus, startJaeger, upJaeger } from './lib/jaeger.ts';

/** env.json, or null when there is none; a file that does not read is an error (see env-state.ts). */
function readState(): EnvState | null {
  let text: string;
  try {
    text = fs.readFileSync(envFile(), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return parseEnvState(text, envFile());
}

function writeState(state: EnvState): void {
  writeFileAtomic(envFile(), `${JSON.stringify(state, null, 2)}\n`);
}

/** One `up`/`down` at a time per state directory. */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(stateDir(), { recursive: true });
  const lock = path.join(stateDir(), '.lock');
  for (let i = 0; ; i++) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(lock, 'utf8') || 0);
      if (!pidAlive(holder)) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (i % 20 === 0) log(`waiting for pid ${holder} (holds ${lock})`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

interface Options {
  clusters: number;
  kube: boolean;
  rest: string[];
}

function parseArgs(argv: readonly string[]): Options {
  const opts: Options = { clusters: Number(process.env['MESHWAVE_CLUSTERS'] || 3), kube: true, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--clusters') opts.clusters = Number(argv[++i]);
    else if (a.startsWith('--clusters=')) opts.clusters = Number(a.slice(11));
    else if (a === '--no-kube') opts.kube = false;
    else opts.rest.push(a);
  }
  if (!Number.isInteger(opts.clusters) || opts.clusters < 0) throw new Error('--clusters wants a whole number');
  return opts;
}

/**
 * A start can lose a race for its port (the kernel handed it out, someone else bound it before us) or trip
 * over stale data: try once more from scratch, on fresh ports.
 */
async function retryOnce<T>(what: string, first: () => Promise<T>, again: () => Promise<T>): Promise<T> {
  try {
    return await first();
  } catch (err) {
    log(`${what}: ${String(err instanceof Error ? err.message : err).split('\n')[0]}; retrying once on fresh ports`);
    return again();
  }
}

/**
 * helm and Jaeger, after the rest, so a cold build of either never competes with the Kubernetes builds for the
 * cores. A healthy Jaeger is reused: an environment that predates it gains it without the rest restarting.
 * True when either changed.
 */
async function upBuiltTools(state: EnvState, prev: EnvState | null): Promise<boolean> {
  state.helm = await ensureHelm();
  state.jaeger = await retryOnce(
    'jaeger',
    () => upJaeger(prev?.jaeger),
    () => upJaeger(undefined),
  );
  return state.helm.bin !== prev?.helm?.bin || state.jaeger !== prev?.jaeger;
}

async function up(opts: Options): Promise<EnvState> {
  const t0 = Date.now();
  const prev = readState();
  const state: EnvState = {
    schema: ENV_STATE_SCHEMA,
    stateDir: stateDir(),
    startedBy: prev?.startedBy ?? { pid: process.pid, user: os.userInfo().username, at: new Date().toISOString() },
    ready: false,
    kafka: prev?.kafka,
    redis: prev?.redis,
    prometheus: prev?.prometheus,
    clusters: prev?.clusters ?? [],
    injector: prev?.injector,
    helm: prev?.helm,
    jaeger: prev?.jaeger,
  };
  // env.json is rewritten (ready: false) only once something had to be started, so a reusing `up` never
  // makes a running test see a half-ready environment.
  let changed = !prev?.ready;
  const record = (isNew: boolean): void => {
    changed ||= isNew;
    if (changed) writeState(state);
  };

  const wantKube = opts.kube && opts.clusters > 0;
  // Everything starts at once: Kafka's JVM, Redis, Prometheus, and (after the Go binaries, built on first use)
  // the clusters, which come up in parallel with each other.
  const infra = Promise.all([
    retryOnce(
      'kafka',
      () => upKafka(prev?.kafka, { emptyData: true }),
      () => upKafka(undefined, { emptyData: true }),
    ),
    retryOnce(
      'redis',
      () => upRedis(prev?.redis),
      () => upRedis(undefined),
    ),
    retryOnce(
      'prometheus',
      () => upPrometheus(prev?.prometheus),
      () => upPrometheus(undefined),
    ),
  ]).then(([kafka, redis, prometheus]) => {
    state.kafka = kafka;
    state.redis = redis;
    state.prometheus = prometheus;
    record(kafka !== prev?.kafka || redis !== prev?.redis || prometheus !== prev?.prometheus);
    log(
      `kafka ${kafka.brokers[0]}, redis ${redis.url} and prometheus ${prometheus.url} ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  });
  const kube = !wantKube
    ? Promise.resolve()
    : (async () => {
        const bins = await ensureKubeBinaries();
        state.injector = await upInjector(prev?.injector);
        record(state.injector !== prev?.injector);
        const names = Array.from({ length: Math.max(opts.clusters, state.clusters.length) }, (_, i) => `kind-${i + 1}`);
        const results = await Promise.allSettled(
          names.map(async (name, i) => {
            const before = state.clusters.find((c) => c.name === name);
            if (i >= opts.clusters && before) return before; // never tear down clusters someone else asked for
            const c = await retryOnce(
              name,
              () => upCluster(name, before, bins, state.injector),
              () => upCluster(name, undefined, bins, state.injector),
            );
            if (c === before && state.injector && prev?.injector?.url !== state.injector.url) {
              await repointRegistrations(c, state.injector); // the injector came back on another port
            }
            state.clusters = [...state.clusters.filter((x) => x.name !== name), c].sort((a, b) =>
              a.name.localeCompare(b.name, 'en', { numeric: true }),
            );
            record(c !== before);
            return c;
          }),
        );
        const failed = results.find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
      })();
  const settled = await Promise.allSettled([infra, kube]);
  const failure = settled.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
  changed = (await upBuiltTools(state, prev)) || changed;
  state.ready = true;
  state.upSeconds = changed ? Number(((Date.now() - t0) / 1000).toFixed(1)) : prev?.upSeconds;
  if (changed) writeState(state);
  log(`environment up in ${((Date.now() - t0) / 1000).toFixed(1)} s; details in ${envFile()}`);
  return state;
}

async function down(): Promise<void> {
  const state = readState();
  if (!state) {
    log('nothing to stop');
    return;
  }
  for (const c of [...state.clusters].reverse()) await downCluster(c);
  await downInjector(state.injector);
  await Promise.all([
    downKafka(state.kafka),
    downRedis(state.redis),
    downPrometheus(state.prometheus),
    downJaeger(state.jaeger),
  ]);
  fs.rmSync(envFile(), { force: true });
  log(
    `stopped; built tools and logs kept in ${stateDir()} (the next \`up\` starts Kafka, Redis and Prometheus with empty data)`,
  );
}

async function status(): Promise<{ healthy: boolean; [detail: string]: unknown }> {
  const state = readState();
  if (!state) return { healthy: false, reason: `no ${envFile()}: run \`node test/env/env.ts up\`` };
  const [kafka, redis, prometheus, jaeger, injector, ...clusters] = await Promise.all([
    kafkaStatus(state.kafka),
    redisStatus(state.redis),
    prometheusStatus(state.prometheus),
    jaegerStatus(state.jaeger),
    injectorStatus(state.injector),
    ...state.clusters.map((c) => clusterStatus(c)),
  ]);
  const kubeOk = clusters.every((c) => c.healthy) && (clusters.length === 0 || injector.healthy);
  return {
    healthy: Boolean(state.ready && kafka.healthy && redis.healthy && prometheus.healthy && jaeger.healthy && kubeOk),
    envFile: envFile(),
    kafka,
    redis,
    prometheus,
    jaeger,
    injector,
    clusters,
  };
}

async function drill(verb: string, component: string): Promise<void> {
  const state = readState();
  if (!state) throw new Error('environment is not up');
  const stop = verb === 'stop' || verb === 'restart';
  const start = verb === 'start' || verb === 'restart';
  if (component === 'kafka') {
    if (stop) await downKafka(state.kafka);
    if (start) state.kafka = await upKafka(state.kafka);
  } else if (component === 'redis') {
    if (stop) await downRedis(state.redis);
    if (start) state.redis = await startRedis(state.redis);
  } else if (component === 'prometheus') {
    if (stop) await downPrometheus(state.prometheus);
    if (start) state.prometheus = await startPrometheus(state.prometheus);
  } else if (component === 'jaeger') {
    if (stop) await downJaeger(state.jaeger);
    if (start) state.jaeger = await startJaeger(state.jaeger);
  } else if (component === 'injector') {
    if (stop) await downInjector(state.injector);
    if (start) {
      const before = state.injector?.url;
      state.injector = await upInjector(state.injector);
      if (state.injector.url !== before) {
        for (const c of state.clusters) await repointRegistrations(c, state.injector);
      }
    }
  } else {
    const i = state.clusters.findIndex((c) => c.name === component);
    const cluster: ClusterState | undefined = state.clusters[i];
    if (!cluster)
      throw new Error(`unknown component ${component} (kafka, redis, prometheus, injector, jaeger or a cluster name)`);
    if (stop) await downCluster(cluster);
    if (start) state.clusters[i] = await upCluster(component, cluster, await ensureKubeBinaries(), state.injector);
  }
  writeState(state);
}

async function main(): Promise<void> {
  const [cmd, ...argv] = process.argv.slice(2);
  const opts = parseArgs(argv);
  switch (cmd) {
    case 'up':
      await withLock(() => up(opts));
      process.stdout.write(`${envFile()}\n`);
      break;
    case 'down':
      await withLock(down);
      break;
    case 'status': {
      const s = await status();
      process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      process.exitCode = s.healthy ? 0 : 1;
      break;
    }
    case 'restart':
    case 'stop':
    case 'start': {
      const component = opts.rest[0];
      if (!component) throw new Error(`usage: env.ts ${cmd} <kafka|redis|prometheus|injector|jaeger|kind-N>`);
      await withLock(() => drill(cmd, component));
      break;
    }
    case 'build':
      ensureRedisServer();
      ensurePrometheus();
      await Promise.all([ensureKafkaJars(), opts.kube ? ensureKubeBinaries() : null]);
      await ensureHelm();
      await ensureJaeger();
      break;
    case 'kubeconfig': {
      // kubeconfig <cluster> <user> [group...]: a client-certificate identity for RBAC tests
      const [clusterName, user, ...groups] = opts.rest;
      const c = readState()?.clusters.find((x) => x.name === clusterName);
      if (!c || !user) throw new Error('usage: env.ts kubeconfig <cluster> <user> [group...]');
      process.stdout.write(`${writeUserKubeconfig(c, user, groups)}\n`);
      break;
    }
    case 'path':
      process.stdout.write(`${envFile()}\n`);
      break;
    default:
      process.stderr.write(
        'usage: node test/env/env.ts up [--clusters N] [--no-kube] | status | down | restart|stop|start <component> | build | path\n',
      );
      process.exitCode = 2;
  }
}

main().catch((err: unknown) => {
  log(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
