import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  DEFAULT_EVENT_LOOP_DELAY_THRESHOLD_MS,
  ResourceName,
  ServiceEnv,
  formatConfigProblems,
  readBackingServices,
  readBooleanEnv,
  readSigningConfig,
  SIGNING_USAGE,
  type BackingServices,
  type ConfigProblem,
  type SigningConfig,
} from '@meshwave/contracts';
import { DEFAULT_PROGRESS_DEADLINE_SECONDS } from '../core/command-ledger.js';
import { DEFAULT_REPORT_RESEND_MS } from './agent-intervals.js';
import { ClusterAgentError, ClusterAgentErrorCode } from '../errors.js';

/** Everything the agent process needs, from flags first, then environment variables (the Helm chart sets those). */
export interface AgentConfig {
  readonly cluster: string;
  readonly clusterLabels: Readonly<Record<string, string>>;
  /** Kafka and Redis (the command ledger), or in memory only when asked for by name (ADR 0016) */
  readonly backing: BackingServices;
  /** the fleet's keys; absent only in the in-memory mode, where the process signs with a random key */
  readonly signing: SigningConfig | undefined;
  readonly kubeconfig: string | undefined;
  readonly qps: number;
  readonly burst: number;
  /** seconds a unit may take to converge before it is reported failed, unless the command says otherwise */
  readonly progressDeadlineSeconds: number;
  /** event-loop delay (ms) past which the agent reports itself Degraded and judges no failure */
  readonly eventLoopDelayThresholdMs: number;
  /** ms between two sends of the whole unit progress even when nothing changed (a lost report is made up for) */
  readonly reportResendMs: number;
  /** webhook HTTPS port, and its serving certificate and key files; no cert = no webhook */
  readonly webhookPort: number;
  readonly webhookCertFile: string | undefined;
  readonly webhookKeyFile: string | undefined;
  /** CA of the apiserver's client certificate: unset, the webhook answers whoever reaches its Service */
  readonly webhookClientCaFile?: string | undefined;
  readonly metricsPort: number;
  readonly bindHost: string;
  readonly leaderElect: boolean;
  readonly leaseNamespace: string;
  readonly leaseName: string;
  readonly identity: string;
  readonly logLevel: string;
}

const FLAGS = {
  cluster: { type: 'string', env: 'MESHWAVE_CLUSTER' },
  'cluster-labels': { type: 'string', env: 'MESHWAVE_CLUSTER_LABELS' },
  'kafka-brokers': { type: 'string', env: ServiceEnv.KafkaBrokers },
  'redis-url': { type: 'string', env: ServiceEnv.RedisUrl },
  'in-memory': { type: 'boolean', env: ServiceEnv.InMemory },
  'signing-keys': { type: 'string', env: ServiceEnv.SigningKeys },
  'signing-keys-file': { type: 'string', env: ServiceEnv.SigningKeysFile },
  'signing-active-key': { type: 'string', env: ServiceEnv.SigningActiveKey },
  kubeconfig: { type: 'string', env: 'KUBECONFIG' },
  qps: { type: 'string', env: 'MESHWAVE_KUBE_QPS' },
  burst: { type: 'string', env: 'MESHWAVE_KUBE_BURST' },
  'progress-deadline': {
    type: 'string',
    env: 'MESHWAVE_PROGRESS_DEADLINE_SECONDS',
    help: `seconds a unit may take to converge before it is reported failed (default ${DEFAULT_PROGRESS_DEADLINE_SECONDS})`,
  },
  'event-loop-delay-threshold': {
    type: 'string',
    env: ServiceEnv.EventLoopDelayThresholdMs,
    help: `ms of event-loop delay past which the agent is Degraded and fails no unit (default ${DEFAULT_EVENT_LOOP_DELAY_THRESHOLD_MS})`,
  },
  'report-resend': {
    type: 'string',
    env: 'MESHWAVE_REPORT_RESEND_MS',
    help: `ms between two sends of the whole unit progress even when unchanged (default ${DEFAULT_REPORT_RESEND_MS})`,
  },
  'webhook-port': { type: 'string', env: 'MESHWAVE_WEBHOOK_PORT' },
  'webhook-cert': { type: 'string', env: 'MESHWAVE_WEBHOOK_CERT' },
  'webhook-key': { type: 'string', env: 'MESHWAVE_WEBHOOK_KEY' },
  'webhook-client-ca': {
    type: 'string',
    env: 'MESHWAVE_WEBHOOK_CLIENT_CA',
    help: "PEM file: only callers with a client certificate from this CA (the apiserver's) are answered",
  },
  'metrics-port': { type: 'string', env: 'MESHWAVE_METRICS_PORT' },
  'bind-host': { type: 'string', env: ServiceEnv.Host },
  'leader-elect': { type: 'string', env: 'MESHWAVE_LEADER_ELECT' },
  'lease-namespace': { type: 'string', env: 'MESHWAVE_LEASE_NAMESPACE' },
  'lease-name': { type: 'string', env: 'MESHWAVE_LEASE_NAME' },
  identity: { type: 'string', env: ServiceEnv.InstanceId },
  'log-level': { type: 'string', env: 'LOG_LEVEL' },
} as const;

export const AGENT_USAGE = `usage: meshwave-cluster-agent --cluster NAME [flags]   (each flag also reads the environment variable shown)
${Object.entries(FLAGS)
  .map(([k, v]) => `  --${k.padEnd(20)} ${'help' in v ? `${v.env.padEnd(36)} ${v.help}` : v.env}`)
  .join('\n')}
Also read, as every service reads them (ADR 0016): ${ServiceEnv.KafkaClientId}, ${ServiceEnv.RedisKeyPrefix},
${ServiceEnv.KafkaSessionTimeoutMs} (10000: how long a dead agent's Kafka session holds up its replacement, ADR 0045),
MESHWAVE_TOPIC_COMMANDS|EVENTS|DLQ (the same names as the planner's, or the agent never hears it), and
${SIGNING_USAGE}
Kafka and Redis are required; --in-memory (${ServiceEnv.InMemory}=true) runs on an in-memory bus and store instead,
a single-process trial that no planner can reach (ADR 0016).`;

/** `key=value,key=value` → labels; a pair without `=` is a problem. */
function parseClusterLabels(raw: string | undefined, problems: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',').filter(Boolean)) {
    const [k, v] = pair.split('=');
    if (!k || v === undefined) problems.push(`--cluster-labels: "${pair}" is not key=value`);
    else labels[k.trim()] = v.trim();
  }
  return labels;
}

/** Parses flags and environment into a config, or throws one error listing every problem. */
export function parseAgentConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): AgentConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.entries(FLAGS).map(([k, v]) => [k, { type: v.type }])),
      strict: true,
    }).values;
  } catch (err) {
    throw new ClusterAgentError(
      ClusterAgentErrorCode.Config,
      `${(err as Error).message}\n${AGENT_USAGE}`,
      {},
      { cause: err },
    );
  }
  const get = (flag: keyof typeof FLAGS): string | undefined => {
    const given = values[flag];
    const v = typeof given === 'string' ? given : env[FLAGS[flag].env];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const problems: string[] = [];
  // Bus, store and signing keys are read as every service reads them, with the flags standing in for their
  // variables.
  const shared: Record<string, string | undefined> = { ...env };
  for (const flag of ['kafka-brokers', 'redis-url', 'signing-keys', 'signing-keys-file', 'signing-active-key'] as const)
    shared[FLAGS[flag].env] = get(flag);
  const flagProblems: ConfigProblem[] = [];
  const inMemory = values['in-memory'] === true || readBooleanEnv(env, ServiceEnv.InMemory, flagProblems);
  const backing = readBackingServices({ ...shared, [ServiceEnv.InMemory]: undefined }, { inMemoryFlag: inMemory });
  const signing = readSigningConfig(shared, readFile, { external: backing.services?.mode !== 'in-memory' });
  const sharedProblems = [...flagProblems, ...backing.problems, ...signing.problems];
  if (sharedProblems.length > 0) problems.push(formatConfigProblems(sharedProblems));
  const int = (flag: keyof typeof FLAGS, fallback: number): number => {
    const raw = get(flag);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) problems.push(`--${flag} (${FLAGS[flag].env}): "${raw}" is not a whole number`);
    return n;
  };
  const intAtLeast = (flag: keyof typeof FLAGS, fallback: number, min: number, what: string): number => {
    const n = int(flag, fallback);
    if (n < min) problems.push(`--${flag} (${FLAGS[flag].env}): must be at least ${what}`);
    return n;
  };
  const progressDeadlineSeconds = intAtLeast('progress-deadline', DEFAULT_PROGRESS_DEADLINE_SECONDS, 1, '1 second');
  const eventLoopDelayThresholdMs = intAtLeast(
    'event-loop-delay-threshold',
    DEFAULT_EVENT_LOOP_DELAY_THRESHOLD_MS,
    1,
    '1 ms (a loop always lags a little)',
  );
  const reportResendMs = intAtLeast('report-resend', DEFAULT_REPORT_RESEND_MS, 1_000, '1000 ms');
  const cluster = get('cluster');
  if (cluster === undefined)
    problems.push(`--cluster (${FLAGS.cluster.env}): missing: the name of this cluster in the fleet`);
  else {
    // the planner takes cluster names by one schema (inventory, routes): a name it refuses would drop every report
    const name = ResourceName.safeParse(cluster);
    if (!name.success)
      problems.push(`--cluster (${FLAGS.cluster.env}): "${cluster}": ${name.error.issues[0]?.message}`);
  }
  const labels = parseClusterLabels(get('cluster-labels'), problems);
  const certFile = get('webhook-cert');
  const keyFile = get('webhook-key');
  if ((certFile === undefined) !== (keyFile === undefined))
    problems.push('--webhook-cert and --webhook-key go together');
  const config: Omit<AgentConfig, 'backing'> = {
    cluster: cluster ?? '',
    clusterLabels: labels,
    signing: signing.signing,
    kubeconfig: get('kubeconfig'),
    qps: int('qps', 50),
    burst: int('burst', 100),
    progressDeadlineSeconds,
    eventLoopDelayThresholdMs,
    reportResendMs,
    webhookPort: int('webhook-port', 9443),
    webhookCertFile: certFile,
    webhookKeyFile: keyFile,
    webhookClientCaFile: get('webhook-client-ca'),
    metricsPort: int('metrics-port', 9090),
    bindHost: get('bind-host') ?? '0.0.0.0',
    leaderElect: (get('leader-elect') ?? 'true') !== 'false',
    leaseNamespace: get('lease-namespace') ?? 'meshwave',
    leaseName: get('lease-name') ?? 'meshwave-cluster-agent',
    identity: get('identity') ?? `agent-${process.pid}`,
    logLevel: get('log-level') ?? 'info',
  };
  if (problems.length > 0 || backing.services === undefined)
    throw new ClusterAgentError(ClusterAgentErrorCode.Config, problems.join('\n'), {
      problems,
      variables: sharedProblems.map((p) => p.variable),
    });
  return { ...config, backing: backing.services };
}
