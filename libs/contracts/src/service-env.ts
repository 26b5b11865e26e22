import { z } from 'zod';
import type { Topic } from './messages.js';
import { parseDurationSeconds } from './primitives.js';

/**
 * The environment variables every meshwave service (planner, cluster-agent, vm-bridge) reads for what it
 * shares with the others: the bus, the store, the fleet's signing keys (ADR 0016). One name per setting, the
 * same in every service, chart and unit file.
 */
export const ServiceEnv = {
  /** comma-separated Kafka bootstrap brokers, e.g. `kafka-0:9092,kafka-1:9092` */
  KafkaBrokers: 'MESHWAVE_KAFKA_BROKERS',
  KafkaClientId: 'MESHWAVE_KAFKA_CLIENT_ID',
  TopicCommands: 'MESHWAVE_TOPIC_COMMANDS',
  TopicEvents: 'MESHWAVE_TOPIC_EVENTS',
  TopicDlq: 'MESHWAVE_TOPIC_DLQ',
  /** `redis://host:port/db` */
  RedisUrl: 'MESHWAVE_REDIS_URL',
  RedisKeyPrefix: 'MESHWAVE_REDIS_KEY_PREFIX',
  /** JSON list of `{ id, secret }` (secrets of at least 32 bytes), or the file holding it */
  SigningKeys: 'MESHWAVE_SIGNING_KEYS',
  SigningKeysFile: 'MESHWAVE_SIGNING_KEYS_FILE',
  /** id of the key new messages are signed with; default the first key */
  SigningActiveKey: 'MESHWAVE_SIGNING_ACTIVE_KEY',
  /** `true`: run on the in-memory bus and store, on purpose (a single-process trial); never with Kafka or Redis */
  InMemory: 'MESHWAVE_IN_MEMORY',
  /** this process's name among its replicas (lease holder, message source) */
  InstanceId: 'MESHWAVE_INSTANCE_ID',
  /** address the service listens on */
  Host: 'MESHWAVE_HOST',
  /** how long audit entries are kept, by age only (ADR 0015): a duration of at least 1d, default 90d; every
   * service that writes the audit must read the same value, or the shortest one wins on the shared stream */
  AuditRetention: 'MESHWAVE_AUDIT_RETENTION',
  /** event-loop delay (ms) past which a service reports itself Degraded and holds its judgements (default 1000) */
  EventLoopDelayThresholdMs: 'MESHWAVE_EVENT_LOOP_DELAY_THRESHOLD_MS',
  /** the bus wire layout this service writes: `v1` (default), `v2` or `v3`; every service reads all (ADR 0026) */
  BusWireLayout: 'MESHWAVE_BUS_WIRE_LAYOUT',
  /**
   * Kafka consumer session timeout, ms (default 10000, 6000–300000; ADR 0045): how long a member that died
   * without leaving (kill -9, OOM, a lost node) keeps its partitions, so how long its replacement's join waits
   */
  KafkaSessionTimeoutMs: 'MESHWAVE_KAFKA_SESSION_TIMEOUT_MS',
} as const;
export type ServiceEnv = (typeof ServiceEnv)[keyof typeof ServiceEnv];

type Env = Readonly<Record<string, string | undefined>>;

/**
 * How a meshwave envelope travels on Kafka (ADR 0021, 0026): what a producer writes; every consumer reads all
 * three. v1 stays the default until every service of a fleet reads v3 (ADR 0026, the rollout).
 */
export const WireLayout = { V1: 'v1', V2: 'v2', V3: 'v3' } as const;
export type WireLayout = (typeof WireLayout)[keyof typeof WireLayout];

/** One thing wrong with a service's configuration: the variable (or flag) and what it should hold. */
export interface ConfigProblem {
  readonly variable: string;
  readonly message: string;
}

/** Where a service keeps its messages and its state: the real servers, or in memory when asked for by name. */
export type BackingServices =
  | {
      readonly mode: 'external';
      readonly kafka: {
        readonly brokers: readonly string[];
        readonly clientId?: string;
        readonly topicNames: Partial<Record<Topic, string>>;
        /** the layout this service writes; unset: the bus's default */
        readonly wireLayout?: WireLayout;
        /** consumer session timeout, ms (`MESHWAVE_KAFKA_SESSION_TIMEOUT_MS`) */
        readonly sessionTimeoutMs: number;
      };
      readonly redis: { readonly url: string; readonly keyPrefix?: string; readonly auditRetentionMs: number };
    }
  | { readonly mode: 'in-memory'; readonly topicNames: Partial<Record<Topic, string>> };

const value = (env: Env, name: string): string | undefined => {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
};

/** `true`/`1` and `false`/`0` (or unset); anything else is a problem. */
export function readBooleanEnv(env: Env, name: string, problems: ConfigProblem[]): boolean {
  const v = value(env, name);
  if (v === undefined || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  problems.push({ variable: name, message: `true or false, got "${v}"` });
  return false;
}

/**
 * The event-loop delay past which a service is Degraded, when none is configured: a healthy loop answers in
 * milliseconds; a second behind, its watch caches and timers can no longer be trusted to judge a deadline.
 */
export const DEFAULT_EVENT_LOOP_DELAY_THRESHOLD_MS = 1000;

/**
 * The Kafka consumer session timeout when none is configured (ADR 0045). A member that dies without leaving keeps
 * its partitions this long, and a replacement's join waits for it: kafkajs's own 30 s made a restarted vm-bridge or
 * cluster-agent hear no command for 30 s. 10 s (the Java client's default before Kafka 3.0) still survives a
 * 3 s heartbeat missed twice; the limits are the broker's defaults for `group.min|max.session.timeout.ms`.
 */
export const KafkaSessionTimeout = { DefaultMs: 10_000, MinMs: 6_000, MaxMs: 300_000 } as const;

/** `MESHWAVE_KAFKA_SESSION_TIMEOUT_MS`: a whole number of ms within `KafkaSessionTimeout`'s limits. */
function readKafkaSessionTimeout(env: Env, problems: ConfigProblem[]): number {
  const text = value(env, ServiceEnv.KafkaSessionTimeoutMs);
  if (text === undefined) return KafkaSessionTimeout.DefaultMs;
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms < KafkaSessionTimeout.MinMs || ms > KafkaSessionTimeout.MaxMs) {
    problems.push({
      variable: ServiceEnv.KafkaSessionTimeoutMs,
      message: `a whole number of ms from ${KafkaSessionTimeout.MinMs} to ${KafkaSessionTimeout.MaxMs}, got "${text}"`,
    });
  }
  return ms;
}

/** A hint for a deployment that still sets a name the cluster-agent read before ADR 0016. */
const renamedFrom = (env: Env, oldName: string): string =>
  value(env, oldName) === undefined ? '' : `; ${oldName} is set, but it was renamed (ADR 0016)`;

/** The audit's retention when none is configured. */
export const DEFAULT_AUDIT_RETENTION = '90d';

/**
 * `MESHWAVE_AUDIT_RETENTION` in milliseconds (default 90d). At least a day: a retention of `90s` written for
 * `90d` would erase the audit within minutes.
 */
export function readAuditRetention(env: Env, problems: ConfigProblem[]): number {
  const text = value(env, ServiceEnv.AuditRetention) ?? DEFAULT_AUDIT_RETENTION;
  const seconds = parseDurationSeconds(text);
  if (seconds === undefined || seconds < 86_400) {
    problems.push({
      variable: ServiceEnv.AuditRetention,
      message: `a duration of at least 1d such as 90d or 26w, got "${text}"`,
    });
    return 0;
  }
  return seconds * 1000;
}

/**
 * The bus and the store a service runs on. Kafka and Redis are required unless the in-memory mode is asked
 * for explicitly (`MESHWAVE_IN_MEMORY=true` or the service's `--in-memory` flag); asking for it while Kafka or
 * Redis is configured is a contradiction and refused too. A service never falls back to memory by itself: a
 * misconfigured deployment must fail to start, not run disconnected and look healthy.
 */
export function readBackingServices(
  env: Env,
  options: { readonly inMemoryFlag?: boolean } = {},
): { readonly services?: BackingServices; readonly problems: readonly ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const inMemory = readBooleanEnv(env, ServiceEnv.InMemory, problems) || options.inMemoryFlag === true;
  const brokers = (value(env, ServiceEnv.KafkaBrokers) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const redisUrl = value(env, ServiceEnv.RedisUrl);
  const topicNames: Partial<Record<Topic, string>> = {};
  for (const [topic, name] of [
    ['commands', ServiceEnv.TopicCommands],
    ['events', ServiceEnv.TopicEvents],
    ['dlq', ServiceEnv.TopicDlq],
  ] as const) {
    const v = value(env, name);
    if (v !== undefined) topicNames[topic] = v;
  }
  if (inMemory) {
    for (const [name, set] of [
      [ServiceEnv.KafkaBrokers, brokers.length > 0],
      [ServiceEnv.RedisUrl, redisUrl !== undefined],
    ] as const)
      if (set)
        problems.push({
          variable: ServiceEnv.InMemory,
          message: `the in-memory mode was asked for, but ${name} is set too: choose one`,
        });
    return problems.length > 0 ? { problems } : { services: { mode: 'in-memory', topicNames }, problems };
  }
  if (brokers.length === 0)
    problems.push({
      variable: ServiceEnv.KafkaBrokers,
      message: `missing: the Kafka brokers, e.g. kafka-0:9092,kafka-1:9092 (or ${ServiceEnv.InMemory}=true for a single-process trial)${renamedFrom(env, 'KAFKA_BROKERS')}`,
    });
  if (redisUrl === undefined)
    problems.push({
      variable: ServiceEnv.RedisUrl,
      message: `missing: the Redis URL, e.g. redis://redis:6379 (or ${ServiceEnv.InMemory}=true for a single-process trial)${renamedFrom(env, 'REDIS_URL')}`,
    });
  else if (!/^rediss?:\/\//.test(redisUrl))
    problems.push({ variable: ServiceEnv.RedisUrl, message: `a redis:// or rediss:// URL, got "${redisUrl}"` });
  const auditRetentionMs = readAuditRetention(env, problems);
  const sessionTimeoutMs = readKafkaSessionTimeout(env, problems);
  const wireLayout = value(env, ServiceEnv.BusWireLayout);
  const layouts: readonly string[] = Object.values(WireLayout);
  if (wireLayout !== undefined && !layouts.includes(wireLayout))
    problems.push({ variable: ServiceEnv.BusWireLayout, message: `one of ${layouts.join(', ')}, got "${wireLayout}"` });
  if (problems.length > 0 || redisUrl === undefined) return { problems };
  const clientId = value(env, ServiceEnv.KafkaClientId);
  const keyPrefix = value(env, ServiceEnv.RedisKeyPrefix);
  return {
    services: {
      mode: 'external',
      kafka: {
        brokers,
        ...(clientId !== undefined ? { clientId } : {}),
        topicNames,
        ...(wireLayout !== undefined ? { wireLayout: wireLayout as WireLayout } : {}),
        sessionTimeoutMs,
      },
      redis: { url: redisUrl, ...(keyPrefix !== undefined ? { keyPrefix } : {}), auditRetentionMs },
    },
    problems,
  };
}

/** The fleet's signing key set, as `MESHWAVE_SIGNING_KEYS[_FILE]` hold it (ADR 0004). */
export const SigningKeySet = z
  .array(z.strictObject({ id: z.string().min(1), secret: z.string().min(32, 'a secret of at least 32 bytes') }))
  .min(1);
export type SigningKeySet = z.infer<typeof SigningKeySet>;

export interface SigningKeysConfig {
  readonly keys: SigningKeySet;
  readonly activeKeyId: string;
}

/**
 * Reads `MESHWAVE_SIGNING_KEYS` or the file `MESHWAVE_SIGNING_KEYS_FILE` names (Kubernetes mounts secrets as
 * files) and `MESHWAVE_SIGNING_ACTIVE_KEY`. Undefined, without a problem, when neither is set and `required` is
 * false (the in-memory mode, where no message leaves the process).
 */
export function readSigningKeys(
  env: Env,
  readFile: (path: string) => string,
  options: { readonly required: boolean },
): { readonly signing?: SigningKeysConfig; readonly problems: readonly ConfigProblem[] } {
  const file = value(env, ServiceEnv.SigningKeysFile);
  let text: string | undefined;
  let variable: string = ServiceEnv.SigningKeys;
  if (file !== undefined) {
    variable = ServiceEnv.SigningKeysFile;
    try {
      text = readFile(file);
    } catch (err) {
      return { problems: [{ variable, message: `cannot read ${file}: ${(err as Error).message}` }] };
    }
  } else text = value(env, ServiceEnv.SigningKeys);
  if (text === undefined)
    return options.required
      ? {
          problems: [
            {
              variable: ServiceEnv.SigningKeys,
              message: `missing: a JSON list of {id, secret} (or ${ServiceEnv.SigningKeysFile}); messages are signed with the fleet's keys`,
            },
          ],
        }
      : { problems: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { problems: [{ variable, message: 'not valid JSON' }] };
  }
  const r = SigningKeySet.safeParse(parsed);
  if (!r.success)
    return {
      problems: [
        { variable, message: r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') },
      ],
    };
  const activeKeyId = value(env, ServiceEnv.SigningActiveKey) ?? r.data[0]!.id;
  if (!r.data.some((k) => k.id === activeKeyId))
    return {
      problems: [{ variable: ServiceEnv.SigningActiveKey, message: `"${activeKeyId}" is not one of the signing keys` }],
    };
  return { signing: { keys: r.data, activeKeyId }, problems: [] };
}

/** `VARIABLE: message`, one line per problem. */
export const formatConfigProblems = (problems: readonly ConfigProblem[]): string =>
  problems.map((p) => `${p.variable}: ${p.message}`).join('\n');
