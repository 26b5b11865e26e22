import { parseArgs } from 'node:util';
import { ResourceName } from '@meshwave/contracts';
import { ClusterAgentError, ClusterAgentErrorCode } from './errors.js';

/** Everything the agent process needs, from flags first, then environment variables (the Helm chart sets those). */
export interface AgentConfig {
  readonly cluster: string;
  readonly clusterLabels: Readonly<Record<string, string>>;
  /** Kafka brokers; empty = in-memory bus (a single-process trial, never production) */
  readonly kafkaBrokers: readonly string[];
  /** Redis URL for the command ledger; undefined = in memory */
  readonly redisUrl: string | undefined;
  /** file with `[{ "id": "...", "secret": "..." }]`, or one key from `signingKey` */
  readonly signingKeysFile: string | undefined;
  readonly signingKey: string | undefined;
  readonly signingActiveKeyId: string | undefined;
  readonly kubeconfig: string | undefined;
  readonly qps: number;
  readonly burst: number;
  /** webhook HTTPS port, and its serving certificate and key files; no cert = no webhook */
  readonly webhookPort: number;
  readonly webhookCertFile: string | undefined;
  readonly webhookKeyFile: string | undefined;
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
  'kafka-brokers': { type: 'string', env: 'KAFKA_BROKERS' },
  'redis-url': { type: 'string', env: 'REDIS_URL' },
  'signing-keys-file': { type: 'string', env: 'MESHWAVE_SIGNING_KEYS_FILE' },
  'signing-key': { type: 'string', env: 'MESHWAVE_SIGNING_KEY' },
  'signing-active-key': { type: 'string', env: 'MESHWAVE_SIGNING_ACTIVE_KEY' },
  kubeconfig: { type: 'string', env: 'KUBECONFIG' },
  qps: { type: 'string', env: 'MESHWAVE_KUBE_QPS' },
  burst: { type: 'string', env: 'MESHWAVE_KUBE_BURST' },
  'webhook-port': { type: 'string', env: 'MESHWAVE_WEBHOOK_PORT' },
  'webhook-cert': { type: 'string', env: 'MESHWAVE_WEBHOOK_CERT' },
  'webhook-key': { type: 'string', env: 'MESHWAVE_WEBHOOK_KEY' },
  'metrics-port': { type: 'string', env: 'MESHWAVE_METRICS_PORT' },
  'bind-host': { type: 'string', env: 'MESHWAVE_BIND_HOST' },
  'leader-elect': { type: 'string', env: 'MESHWAVE_LEADER_ELECT' },
  'lease-namespace': { type: 'string', env: 'POD_NAMESPACE' },
  'lease-name': { type: 'string', env: 'MESHWAVE_LEASE_NAME' },
  identity: { type: 'string', env: 'POD_NAME' },
  'log-level': { type: 'string', env: 'LOG_LEVEL' },
} as const;

export const AGENT_USAGE = `usage: meshwave-cluster-agent --cluster NAME [flags]   (each flag also reads the environment variable shown)
${Object.entries(FLAGS)
  .map(([k, v]) => `  --${k.padEnd(20)} ${v.env}`)
  .join('\n')}`;

/** Parses flags and environment into a config, or throws one error listing every problem. */
export function parseAgentConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): AgentConfig {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: 'string' as const }])),
      strict: true,
    }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new ClusterAgentError(
      ClusterAgentErrorCode.Config,
      `${(err as Error).message}\n${AGENT_USAGE}`,
      {},
      { cause: err },
    );
  }
  const get = (flag: keyof typeof FLAGS): string | undefined => {
    const v = values[flag] ?? env[FLAGS[flag].env];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const problems: string[] = [];
  const int = (flag: keyof typeof FLAGS, fallback: number): number => {
    const raw = get(flag);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) problems.push(`--${flag} (${FLAGS[flag].env}): "${raw}" is not a whole number`);
    return n;
  };
  const cluster = get('cluster');
  if (cluster === undefined)
    problems.push(`--cluster (${FLAGS.cluster.env}): missing: the name of this cluster in the fleet`);
  else {
    // the planner takes cluster names by one schema (inventory, routes): a name it refuses would drop every report
    const name = ResourceName.safeParse(cluster);
    if (!name.success)
      problems.push(`--cluster (${FLAGS.cluster.env}): "${cluster}": ${name.error.issues[0]?.message}`);
  }
  const labels: Record<string, string> = {};
  for (const pair of (get('cluster-labels') ?? '').split(',').filter(Boolean)) {
    const [k, v] = pair.split('=');
    if (!k || v === undefined) problems.push(`--cluster-labels: "${pair}" is not key=value`);
    else labels[k.trim()] = v.trim();
  }
  if (get('signing-keys-file') === undefined && get('signing-key') === undefined)
    problems.push('--signing-keys-file or --signing-key: missing: commands are verified with the fleet signing key');
  const certFile = get('webhook-cert');
  const keyFile = get('webhook-key');
  if ((certFile === undefined) !== (keyFile === undefined))
    problems.push('--webhook-cert and --webhook-key go together');
  const config: AgentConfig = {
    cluster: cluster ?? '',
    clusterLabels: labels,
    kafkaBrokers: (get('kafka-brokers') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    redisUrl: get('redis-url'),
    signingKeysFile: get('signing-keys-file'),
    signingKey: get('signing-key'),
    signingActiveKeyId: get('signing-active-key'),
    kubeconfig: get('kubeconfig'),
    qps: int('qps', 50),
    burst: int('burst', 100),
    webhookPort: int('webhook-port', 9443),
    webhookCertFile: certFile,
    webhookKeyFile: keyFile,
    metricsPort: int('metrics-port', 9090),
    bindHost: get('bind-host') ?? '0.0.0.0',
    leaderElect: (get('leader-elect') ?? 'true') !== 'false',
    leaseNamespace: get('lease-namespace') ?? 'meshwave',
    leaseName: get('lease-name') ?? 'meshwave-cluster-agent',
    identity: get('identity') ?? `agent-${process.pid}`,
    logLevel: get('log-level') ?? 'info',
  };
  if (problems.length > 0) throw new ClusterAgentError(ClusterAgentErrorCode.Config, problems.join('\n'), { problems });
  return config;
}
