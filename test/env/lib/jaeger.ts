// Jaeger v2 (the OpenTelemetry-collector-based binary, github.com/jaegertracing/jaeger/cmd/jaeger), the trace
// backend of the tests: built from its Go module (test/env/go/jaeger) as the Kubernetes binaries are and cached
// under the build cache by version; run as our own process with OTLP (gRPC and HTTP) and its query API on
// 127.0.0.1 only, spans in memory (lost on restart: the tests look at traces they have just made).
import fs from 'node:fs';
import path from 'node:path';
import type { JaegerState } from '../../support/env-state.ts';
import { eventually } from '../../support/eventually.ts';
import { freePorts, portsFree } from '../../support/ports.ts';
import {
  cacheDir,
  envRoot,
  log,
  pidAlive,
  runVisible,
  serverStatus,
  startDetached,
  stateDir,
  stopPid,
  which,
  type ServerStatus,
} from './common.ts';
import { goModVersion } from './kube-binaries.ts';

/** Traces kept in memory; the oldest go first. Enough for every test of a run, small enough for the machine. */
export const JAEGER_MAX_TRACES = 20_000;

/** `{ bin, version }` of Jaeger; builds it when missing (cold: many minutes on 2 cores, then cached). */
export async function ensureJaeger(): Promise<{ bin: string; version: string }> {
  const version = goModVersion('jaeger', 'github.com/jaegertracing/jaeger');
  const dir = path.join(cacheDir(), `jaeger-${version}`);
  if (!fs.existsSync(path.join(dir, '.complete'))) {
    if (!which('go')) throw new Error('building jaeger needs Go (1.25+) on PATH');
    log(`building jaeger ${version} (cold build, many minutes; cached under ${cacheDir()})`);
    await runVisible('nice', ['bash', path.join(envRoot, 'build-go.sh'), 'jaeger']);
  }
  return { bin: path.join(dir, 'jaeger'), version };
}

/** Healthy: the health-check extension says so and the query API answers. */
export async function jaegerHealthy(state: Pick<JaegerState, 'ports' | 'url'>): Promise<boolean> {
  const health = await fetch(`http://127.0.0.1:${state.ports.health}/status`, { signal: AbortSignal.timeout(2000) });
  if (!health.ok) return false;
  const query = await fetch(`${state.url}/api/v3/services`, { signal: AbortSignal.timeout(2000) });
  return query.ok;
}

function jaegerConfig(p: JaegerState['ports']): string {
  return `# written by test/env/lib/jaeger.ts
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:${p.health}
  jaeger_query:
    # its own spans would land among the tests' ones
    enable_tracing: false
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${p.queryHttp}
    grpc:
      endpoint: 127.0.0.1:${p.queryGrpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: ${JAEGER_MAX_TRACES}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${p.otlpGrpc}
      http:
        endpoint: 127.0.0.1:${p.otlpHttp}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

/** Starts Jaeger (or reuses a healthy one). Ports are kept across restarts while they stay free. */
export async function upJaeger(prev: JaegerState | undefined): Promise<JaegerState> {
  if (prev?.pid && pidAlive(prev.pid) && (await jaegerHealthy(prev).catch(() => false))) {
    log(`jaeger: reusing pid ${prev.pid}, query API ${prev.url}`);
    return prev;
  }
  if (prev?.pid) await stopPid(prev.pid, { graceMs: 5000 });
  return startJaeger(prev);
}

export async function startJaeger(prev: JaegerState | undefined): Promise<JaegerState> {
  const { bin, version } = await ensureJaeger();
  const dir = path.join(stateDir(), 'jaeger');
  fs.mkdirSync(dir, { recursive: true });
  let ports = prev?.ports;
  if (!ports || !(await portsFree(Object.values(ports)))) {
    const [otlpGrpc, otlpHttp, queryHttp, queryGrpc, health] = (await freePorts(5)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    ports = { otlpGrpc, otlpHttp, queryHttp, queryGrpc, health };
  }
  const configFile = path.join(dir, 'jaeger.yaml');
  fs.writeFileSync(configFile, jaegerConfig(ports));
  const logFile = path.join(dir, 'jaeger.log');
  // No OTEL_* of ours: Jaeger would read them for its own telemetry.
  const env = Object.fromEntries(
    Object.keys(process.env)
      .filter((k) => k.startsWith('OTEL_'))
      .map((k) => [k, '']),
  );
  const pid = startDetached(bin, ['--config', `file:${configFile}`], { logFile, cwd: dir, env });
  const state: JaegerState = {
    url: `http://127.0.0.1:${ports.queryHttp}`,
    otlpHttpEndpoint: `http://127.0.0.1:${ports.otlpHttp}`,
    otlpGrpcEndpoint: `http://127.0.0.1:${ports.otlpGrpc}`,
    ports,
    pid,
    configFile,
    logFile,
    version,
  };
  log(`jaeger: started pid ${pid}, query API ${state.url}, OTLP ${state.otlpHttpEndpoint}`);
  try {
    await eventually('jaeger', () => jaegerHealthy(state), { timeoutMs: 60_000, alive: () => pidAlive(pid) });
  } catch (err) {
    await stopPid(pid, { graceMs: 5000 });
    throw err;
  }
  return state;
}

export async function downJaeger(state: JaegerState | undefined): Promise<void> {
  if (state?.pid) await stopPid(state.pid, { graceMs: 10_000 });
}

export function jaegerStatus(state: JaegerState | undefined): Promise<ServerStatus> {
  return serverStatus(state, jaegerHealthy, (s) => ({ url: s.url, otlp: s.otlpHttpEndpoint, version: s.version }));
}
