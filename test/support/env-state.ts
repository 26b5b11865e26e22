// The shape of env.json, declared once: `test/env/env.ts` writes it, the tests (./env.ts) and the benchmarks read
// it. Objects are loose so a file written by a newer `up` still reads (its extra fields are kept on rewrite); a
// file that does not match is an error, never a silent "not up", since a wrong guess would restart servers
// other runs are using.
import { z } from 'zod';

const port = z.number().int().min(1).max(65_535);
const pid = z.number().int().positive();

/** Kafka, one KRaft broker+controller on 127.0.0.1. */
export const kafkaStateSchema = z.looseObject({
  brokers: z.array(z.string()).min(1),
  port,
  controllerPort: port,
  pid,
  version: z.string(),
  clusterId: z.string(),
  dataDir: z.string(),
  logFile: z.string(),
  configFile: z.string(),
});
export type KafkaState = z.infer<typeof kafkaStateSchema>;

/** Redis with AOF on (appendfsync always), our own process. */
export const redisStateSchema = z.looseObject({
  url: z.string(),
  port,
  dataDir: z.string(),
  pid,
  configFile: z.string(),
  logFile: z.string(),
  version: z.string(),
});
export type RedisState = z.infer<typeof redisStateSchema>;

/**
 * Prometheus on 127.0.0.1 with file-based service discovery: a test serves its own /metrics exporter and writes
 * `<targetsDir>/<unique name>.json` (`[{ "targets": ["127.0.0.1:PORT"], "labels": {...} }]`); it is scraped every
 * `scrapeIntervalSeconds` until the file is removed. `url` is `http://127.0.0.1:PORT` (HTTP API under /api/v1).
 */
export const prometheusStateSchema = z.looseObject({
  url: z.string(),
  port,
  pid,
  targetsDir: z.string(),
  scrapeIntervalSeconds: z.number().positive(),
  configFile: z.string(),
  dataDir: z.string(),
  logFile: z.string(),
  version: z.string(),
});
export type PrometheusState = z.infer<typeof prometheusStateSchema>;

/** The ports of one cluster's processes, kept across restarts while they stay free. */
export const clusterPortsSchema = z.object({
  etcd: port,
  etcdPeer: port,
  apiserver: port,
  controllerManager: port,
  scheduler: port,
  kwok: port,
});
export type ClusterPorts = z.infer<typeof clusterPortsSchema>;

/** Process ids of one cluster; a process not started (yet) has none. */
export const clusterPidsSchema = z.object({
  etcd: pid.optional(),
  apiserver: pid.optional(),
  controllerManager: pid.optional(),
  scheduler: pid.optional(),
  kwok: pid.optional(),
});
export type ClusterPids = z.infer<typeof clusterPidsSchema>;

/** One simulated cluster: etcd + kube-apiserver + controller-manager + scheduler + kwok. */
export const clusterStateSchema = z.looseObject({
  /** `kind-1`, `kind-2`, ... */
  name: z.string(),
  /** admin kubeconfig (client certificate, O=system:masters) */
  kubeconfig: z.string(),
  /** `https://127.0.0.1:PORT` */
  server: z.string(),
  /** CA of the apiserver's serving certificate */
  caFile: z.string(),
  /** certificates and keys of this cluster (client CA: client-ca.crt/.key, to mint more identities) */
  certDir: z.string(),
  dir: z.string(),
  ports: clusterPortsSchema,
  pids: clusterPidsSchema,
  /** names of the kwok fake nodes */
  nodes: z.array(z.string()),
  kubernetesVersion: z.string(),
  binaries: z.object({ etcd: z.string(), apiserver: z.string() }),
  etcdVersion: z.string(),
  kwokVersion: z.string(),
});
export type ClusterState = z.infer<typeof clusterStateSchema>;

/** The Istio sidecar-injector double, one HTTPS server for every revision (path per revision). */
export const injectorStateSchema = z.looseObject({
  url: z.string(),
  /** base64 PEM of the CA that signed the injector's serving certificate (for webhook caBundle) */
  caBundle: z.string(),
  port,
  pid,
  certDir: z.string(),
  logFile: z.string(),
});
export type InjectorState = z.infer<typeof injectorStateSchema>;

/** helm, built from its Go module (test/env/go/helm) and cached by version, for the chart tests. */
export const helmStateSchema = z.looseObject({ bin: z.string(), version: z.string() });
export type HelmState = z.infer<typeof helmStateSchema>;

/**
 * Jaeger v2 (built from its Go module, test/env/go/jaeger): OTLP on 127.0.0.1 (`otlpHttpEndpoint` is what
 * `OTEL_EXPORTER_OTLP_ENDPOINT` takes), spans in memory, the query API at `url` (`/api/v3/traces/{id}`).
 */
export const jaegerStateSchema = z.looseObject({
  url: z.string(),
  otlpHttpEndpoint: z.string(),
  otlpGrpcEndpoint: z.string(),
  ports: z.object({ otlpGrpc: port, otlpHttp: port, queryHttp: port, queryGrpc: port, health: port }),
  pid,
  configFile: z.string(),
  logFile: z.string(),
  version: z.string(),
});
export type JaegerState = z.infer<typeof jaegerStateSchema>;

/** Version of the file's layout; a change that old readers cannot read bumps it. */
export const ENV_STATE_SCHEMA = 1;

/**
 * env.json. `ready` is false while an `up` is starting something; the components are absent until started
 * (`prometheus`, `helm` and `jaeger` also in files written before they joined the environment).
 */
export const envStateSchema = z.looseObject({
  schema: z.literal(ENV_STATE_SCHEMA),
  stateDir: z.string(),
  startedBy: z.object({ pid, user: z.string(), at: z.string() }),
  ready: z.boolean(),
  upSeconds: z.number().nonnegative().optional(),
  kafka: kafkaStateSchema.optional(),
  redis: redisStateSchema.optional(),
  prometheus: prometheusStateSchema.optional(),
  clusters: z.array(clusterStateSchema),
  injector: injectorStateSchema.optional(),
  helm: helmStateSchema.optional(),
  jaeger: jaegerStateSchema.optional(),
});
export type EnvState = z.infer<typeof envStateSchema>;

/** env.json's text parsed and checked; throws naming the file and the first field that does not match. */
export function parseEnvState(text: string, file: string): EnvState {
  const parsed = envStateSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`);
  }
  return parsed.data;
}
