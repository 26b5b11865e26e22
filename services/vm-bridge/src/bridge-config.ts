import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BundleRef, ObjectName } from '@meshwave/contracts';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { VmBridgeError, VmBridgeErrorCode } from './errors.js';
import { HostApiLimits } from './http-limits.js';

const SecretRef = z.union([z.strictObject({ file: z.string() }), z.strictObject({ env: z.string() })]);

/** The vm-bridge configuration file (YAML or JSON). */
export const VmBridgeConfig = z.strictObject({
  listen: z
    .strictObject({ host: z.string().default('0.0.0.0'), port: z.number().int().min(0).max(65535).default(8080) })
    .prefault({}),
  /** body limit and timeouts of the host API (ADR 0014) */
  http: HostApiLimits.prefault({}),
  /** lease holder name; default hostname-pid */
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
      }),
    )
    .min(1),
  /** version -> bundle; merged with the bundles found in `bundleDir` */
  bundles: z.record(z.string(), BundleRef).default({}),
  /** `<version>.tar.gz` files, hashed at start and served at /v1/bundles/ */
  bundleDir: z.string().optional(),
  /** the URL hosts reach /v1/bundles/ at (default: file:// URLs of bundleDir) */
  bundleBaseUrl: z.string().optional(),
  bus: z
    .discriminatedUnion('kind', [
      z.strictObject({
        kind: z.literal('kafka'),
        brokers: z.array(z.string()).min(1),
        clientId: z.string().optional(),
      }),
      z.strictObject({ kind: z.literal('memory') }),
    ])
    .default({ kind: 'memory' }),
  store: z
    .discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('redis'), url: z.string().optional(), urlEnv: z.string().optional() }),
      z.strictObject({ kind: z.literal('memory') }),
    ])
    .default({ kind: 'memory' }),
  signing: z
    .strictObject({
      activeKeyId: z.string(),
      keys: z.array(z.strictObject({ id: z.string(), secret: SecretRef })).default([]),
      /** a JSON file `[{ "id": "k1", "secret": "..." }]` (the fleet's signing Secret, ADR 0004) */
      keysFile: z.string().optional(),
    })
    .optional(),
  settings: z
    .strictObject({
      batchTimeoutSeconds: z.number().positive().optional(),
      reportStaleSeconds: z.number().positive().optional(),
      leaseTtlSeconds: z.number().positive().optional(),
      tickMs: z.number().int().positive().optional(),
      maxLongPollSeconds: z.number().positive().optional(),
    })
    .prefault({}),
});
export type VmBridgeConfig = z.infer<typeof VmBridgeConfig>;

export async function readSecret(ref: z.infer<typeof SecretRef>, baseDir: string): Promise<string> {
  if ('env' in ref) {
    const v = process.env[ref.env];
    if (v === undefined)
      throw new VmBridgeError(VmBridgeErrorCode.InvalidConfig, `environment variable ${ref.env} is not set`);
    return v.trim();
  }
  return (await fs.readFile(path.resolve(baseDir, ref.file), 'utf8')).trim();
}

export async function loadBridgeConfig(argv: readonly string[]): Promise<{ config: VmBridgeConfig; baseDir: string }> {
  const { values } = parseArgs({
    args: [...argv],
    options: { config: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } },
    strict: true,
  });
  if (values.config === undefined)
    throw new VmBridgeError(
      VmBridgeErrorCode.InvalidConfig,
      'usage: meshwave-vm-bridge --config FILE [--host H] [--port N]',
    );
  const raw = (parseYaml(await fs.readFile(values.config, 'utf8')) as Record<string, unknown> | null) ?? {};
  const listen = { ...(raw.listen as Record<string, unknown> | undefined) };
  if (values.port !== undefined) listen.port = Number(values.port);
  if (values.host !== undefined) listen.host = values.host;
  const parsed = VmBridgeConfig.safeParse({ ...raw, listen });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; ');
    throw new VmBridgeError(VmBridgeErrorCode.InvalidConfig, `${values.config}: ${problems}`);
  }
  return { config: parsed.data, baseDir: path.dirname(path.resolve(values.config)) };
}
