import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  BundleRef,
  ObjectName,
  ServiceEnv,
  formatConfigProblems,
  readBackingServices,
  readSigningConfig,
  RolloutMeshName,
  SIGNING_USAGE,
  type BackingServices,
  type SigningConfig,
} from '@meshwave/contracts';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { VmBridgeError, VmBridgeErrorCode } from '../errors.js';
import { HostApiLimits } from '../http/http-limits.js';
import type { BridgeSettings } from './bridge-settings.js';

const SecretRef = z.union([z.strictObject({ file: z.string() }), z.strictObject({ env: z.string() })]);

/**
 * The vm-bridge configuration file (YAML or JSON): what is the bridge's own. The bus, the store and the signing
 * keys come from the environment, under the names every service uses (ADR 0016).
 */
export const VmBridgeConfig = z.strictObject({
  listen: z
    .strictObject({ host: z.string().default('0.0.0.0'), port: z.number().int().min(0).max(65535).default(8080) })
    .prefault({}),
  /** body limit and timeouts of the host API (ADR 0014) */
  http: HostApiLimits.prefault({}),
  /** lease holder name; default MESHWAVE_INSTANCE_ID, else hostname-pid */
  instance: z.string().optional(),
  groups: z
    .array(
      z.strictObject({
        name: ObjectName,
        /** sha256 of the enrollment token, or where to read the token itself */
        enrollmentTokenSha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/)
          .optional(),
        enrollmentToken: SecretRef.optional(),
        /**
         * the mesh the group's hosts are part of (ADR 0058): published with its membership, a mesh rollout moves
         * only its mesh's groups (ADR 0056). A label value, as `meshwave split` names meshes.
         */
        mesh: RolloutMeshName.optional(),
      }),
    )
    .min(1),
  /** version -> bundle; merged with the bundles found in `bundleDir` */
  bundles: z.record(z.string(), BundleRef).default({}),
  /** `<version>.tar.gz` files, hashed at start and served at /v1/bundles/ */
  bundleDir: z.string().optional(),
  /** the URL hosts reach /v1/bundles/ at (default: file:// URLs of bundleDir) */
  bundleBaseUrl: z.string().optional(),
  settings: z
    .strictObject({
      batchTimeoutSeconds: z.number().positive().optional(),
      reportStaleSeconds: z.number().positive().optional(),
      leaseTtlSeconds: z.number().positive().optional(),
      tickMs: z.number().int().positive().optional(),
      maxLongPollSeconds: z.number().positive().optional(),
      /** a group's whole progress is re-sent this often even when unchanged (a lost report is made up for) */
      reportResendSeconds: z.number().min(1).optional(),
    })
    .prefault({}),
});
export type VmBridgeConfig = z.infer<typeof VmBridgeConfig>;

/** The file's `settings` (seconds, as an operator writes them) → the bridge's settings (ms); unset keeps the default. */
export function bridgeSettingsOf(s: VmBridgeConfig['settings']): Partial<BridgeSettings> {
  const ms = (seconds: number | undefined): number | undefined => (seconds === undefined ? undefined : seconds * 1000);
  const all: { [K in keyof BridgeSettings]?: number | undefined } = {
    batchTimeoutMs: ms(s.batchTimeoutSeconds),
    reportStaleMs: ms(s.reportStaleSeconds),
    leaseTtlMs: ms(s.leaseTtlSeconds),
    tickMs: s.tickMs,
    maxLongPollMs: ms(s.maxLongPollSeconds),
    progressIntervalMs: ms(s.reportResendSeconds),
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as Partial<BridgeSettings>;
}

export async function readSecret(ref: z.infer<typeof SecretRef>, baseDir: string): Promise<string> {
  if ('env' in ref) {
    const v = process.env[ref.env];
    if (v === undefined)
      throw new VmBridgeError(VmBridgeErrorCode.InvalidConfig, `environment variable ${ref.env} is not set`);
    return v.trim();
  }
  return (await fs.readFile(path.resolve(baseDir, ref.file), 'utf8')).trim();
}

export const BRIDGE_USAGE = `usage: meshwave-vm-bridge --config FILE [--host H] [--port N] [--in-memory]
  FILE: listen, instance, groups, bundles, bundleDir, bundleBaseUrl, settings (YAML or JSON)
  ${ServiceEnv.KafkaBrokers}        Kafka brokers, comma-separated (required)
  ${ServiceEnv.RedisUrl}            Redis URL (required)
${SIGNING_USAGE}
  --in-memory (${ServiceEnv.InMemory}=true)  instead of Kafka and Redis: in-memory bus and store, a trial only
  ${ServiceEnv.KafkaClientId}, ${ServiceEnv.RedisKeyPrefix}, MESHWAVE_TOPIC_COMMANDS|EVENTS|DLQ, ${ServiceEnv.InstanceId}, LOG_LEVEL
  ${ServiceEnv.KafkaSessionTimeoutMs} (10000: how long a dead bridge's Kafka session holds up its replacement, ADR 0045)
  ${ServiceEnv.EventLoopDelayThresholdMs} (1000: past this event-loop delay the bridge is Degraded and holds batch timeouts)`;

/** What the bridge process runs with: its file, plus the bus, store and keys from the environment. */
export interface LoadedBridgeConfig {
  readonly config: VmBridgeConfig;
  readonly baseDir: string;
  readonly backing: BackingServices;
  /** absent only in the in-memory mode */
  readonly signing: SigningConfig | undefined;
  /** MESHWAVE_EVENT_LOOP_DELAY_THRESHOLD_MS, when set */
  readonly loopDelayThresholdMs?: number;
}

/** Sections of older files that now live in the environment; named in the error rather than "unrecognized". */
const MOVED_TO_ENV: Readonly<Record<string, string>> = {
  bus: `${ServiceEnv.KafkaBrokers} (or ${ServiceEnv.InMemory}=true)`,
  store: `${ServiceEnv.RedisUrl} (or ${ServiceEnv.InMemory}=true)`,
  signing: `${ServiceEnv.SigningKeysFile} or ${ServiceEnv.SigningKeys}, and ${ServiceEnv.SigningActiveKey}`,
};

export async function loadBridgeConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): Promise<LoadedBridgeConfig> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'in-memory': { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    throw new VmBridgeError(VmBridgeErrorCode.InvalidConfig, `${(err as Error).message}\n${BRIDGE_USAGE}`, {
      cause: err,
    });
  }
  if (values.config === undefined) throw new VmBridgeError(VmBridgeErrorCode.InvalidConfig, BRIDGE_USAGE);
  const backing = readBackingServices(env, { inMemoryFlag: values['in-memory'] });
  const signing = readSigningConfig(env, readFile, { external: backing.services?.mode !== 'in-memory' });
  const envProblems = [...backing.problems, ...signing.problems];
  if (envProblems.length > 0 || backing.services === undefined)
    throw new VmBridgeError(VmBridgeErrorCode.InvalidConfig, formatConfigProblems(envProblems), {
      context: { variables: envProblems.map((p) => p.variable) },
    });
  const raw = (parseYaml(await fs.readFile(values.config, 'utf8')) as Record<string, unknown> | null) ?? {};
  const moved = Object.keys(MOVED_TO_ENV).filter((k) => k in raw);
  if (moved.length > 0)
    throw new VmBridgeError(
      VmBridgeErrorCode.InvalidConfig,
      `${values.config}: ${moved.map((k) => `${k}: moved to the environment: ${MOVED_TO_ENV[k]}`).join('; ')} (ADR 0016)`,
    );
  const listen = { ...(raw.listen as Record<string, unknown> | undefined) };
  if (values.port !== undefined) listen.port = Number(values.port);
  if (values.host !== undefined) listen.host = values.host;
  const instance = raw.instance ?? env[ServiceEnv.InstanceId];
  const parsed = VmBridgeConfig.safeParse({ ...raw, listen, ...(instance !== undefined ? { instance } : {}) });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; ');
    throw new VmBridgeError(VmBridgeErrorCode.InvalidConfig, `${values.config}: ${problems}`);
  }
  const threshold = env[ServiceEnv.EventLoopDelayThresholdMs];
  const thresholdMs = threshold === undefined || threshold === '' ? undefined : Number(threshold);
  if (thresholdMs !== undefined && !(Number.isInteger(thresholdMs) && thresholdMs >= 1))
    throw new VmBridgeError(
      VmBridgeErrorCode.InvalidConfig,
      `${ServiceEnv.EventLoopDelayThresholdMs}: a whole number of ms, at least 1 (a loop always lags a little)`,
    );
  return {
    config: parsed.data,
    ...(thresholdMs !== undefined ? { loopDelayThresholdMs: thresholdMs } : {}),
    baseDir: path.dirname(path.resolve(values.config)),
    backing: backing.services,
    signing: signing.signing,
  };
}
