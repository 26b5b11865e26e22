import { z } from 'zod';
import { readSigningKeys, ServiceEnv, type ConfigProblem, type SigningKeySet } from './service-env.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The variables of Ed25519 signing (ADR 0038), beside the HMAC ones of `ServiceEnv`. */
export const SigningEnv = {
  /** file holding a JSON list of this process's Ed25519 private keys, `{ id, privateKey }` (PKCS#8 PEM) */
  PrivateKeysFile: 'MESHWAVE_SIGNING_PRIVATE_KEYS_FILE',
  /**
   * comma-separated files, each a JSON list of public keys `{ id, principal, publicKey }` (SPKI PEM) this process
   * accepts: on agents and the bridge the planner's; on the planner one file (one Secret) per cluster-agent and the
   * bridge's
   */
  TrustedKeysFiles: 'MESHWAVE_SIGNING_TRUSTED_KEYS_FILES',
  /**
   * no longer accepted (ADR 0046): it let a process on Kafka sign with the shared HMAC key set; a process that
   * finds it set refuses to start, so a fleet that relied on it learns at once
   */
  AllowHmac: 'MESHWAVE_SIGNING_ALLOW_HMAC',
} as const;

/** Why a process on Kafka refuses the shared HMAC keys (ADR 0046). */
const HMAC_DEMO_ONLY = `HMAC signing is for the embedded demo only (\`meshwave demo\`, ADR 0046): on Kafka each process signs with its own Ed25519 keys (${SigningEnv.PrivateKeysFile}, ${SigningEnv.TrustedKeysFiles}, ${ServiceEnv.SigningActiveKey}; ADR 0038)`;

/** The signing variables as each service's `--help` lists them. */
export const SIGNING_USAGE = `  ${SigningEnv.PrivateKeysFile}, ${SigningEnv.TrustedKeysFiles}, ${ServiceEnv.SigningActiveKey}
                                Ed25519 keys (required with Kafka, ADR 0038); in memory only, ${ServiceEnv.SigningKeys}[_FILE]
                                (JSON list of {id, secret}: HMAC, the embedded demo's scheme, ADR 0046)`;

const MAX_KEYS = 256;
const Pem = (kind: string): z.ZodString =>
  z
    .string()
    .regex(new RegExp(`^-----BEGIN ${kind}-----`), `a PEM block starting -----BEGIN ${kind}-----`)
    .max(4096);

/** One file of `MESHWAVE_SIGNING_PRIVATE_KEYS_FILE`. */
export const PrivateKeySet = z
  .array(z.strictObject({ id: z.string().min(1).max(128), privateKey: Pem('PRIVATE KEY') }))
  .min(1)
  .max(MAX_KEYS);
export type PrivateKeySet = z.infer<typeof PrivateKeySet>;

/** One file of `MESHWAVE_SIGNING_TRUSTED_KEYS_FILES`: `principal` is `planner`, `cluster/<name>` or `vm-bridge`. */
export const TrustedKeySet = z
  .array(
    z.strictObject({
      id: z.string().min(1).max(128),
      principal: z.string().regex(/^(planner|vm-bridge|cluster\/[^/\s]+)$/, 'planner, vm-bridge or cluster/<name>'),
      publicKey: Pem('PUBLIC KEY'),
    }),
  )
  .min(1)
  .max(MAX_KEYS);
export type TrustedKeySet = z.infer<typeof TrustedKeySet>;

/**
 * What a service signs with and accepts; the shape of `@meshwave/bus`'s `SigningOptions`. Ed25519 when
 * `privateKeys` is set (HMAC `keys` beside them are accepted in memory only); else HMAC, in memory only (ADR 0046).
 */
export interface SigningConfig {
  readonly keys?: SigningKeySet;
  readonly privateKeys?: PrivateKeySet;
  readonly trustedKeys?: TrustedKeySet;
  readonly activeKeyId: string;
}

const value = (env: Env, name: string): string | undefined => {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
};

function readJsonFile<T>(
  path: string,
  variable: string,
  schema: z.ZodType<T>,
  readFile: (path: string) => string,
  problems: ConfigProblem[],
): T | undefined {
  let json: unknown;
  try {
    json = JSON.parse(readFile(path));
  } catch (err) {
    // Never the file's text: it holds keys. Only what went wrong.
    problems.push({ variable, message: `cannot read ${path} as JSON: ${(err as Error).name}` });
    return undefined;
  }
  const r = schema.safeParse(json);
  if (r.success) return r.data;
  const where = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  problems.push({ variable, message: `${path}: ${where}` });
  return undefined;
}

/**
 * The signing configuration of a service (ADR 0038, 0046). `external`: the service runs on Kafka, where messages
 * cross processes: Ed25519 keys are required and the shared HMAC keys are refused (they are the embedded demo's
 * scheme, where every holder of the fleet secret can sign anything). In memory nothing is required.
 */
export function readSigningConfig(
  env: Env,
  readFile: (path: string) => string,
  options: { readonly external: boolean },
): { readonly signing?: SigningConfig; readonly problems: readonly ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const privateFile = value(env, SigningEnv.PrivateKeysFile);
  const trustedFiles = (value(env, SigningEnv.TrustedKeysFiles) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  // A leftover of the releases that let a process on Kafka sign with HMAC: refused by name, never ignored.
  if (value(env, SigningEnv.AllowHmac) !== undefined)
    problems.push({ variable: SigningEnv.AllowHmac, message: HMAC_DEMO_ONLY });
  if (privateFile === undefined && trustedFiles.length === 0) {
    const hmac = readSigningKeys(env, readFile, { required: false });
    if (hmac.problems.length > 0 || (hmac.signing !== undefined && !options.external))
      return { ...hmac, problems: [...problems, ...hmac.problems] };
    if (!options.external) return { problems };
    problems.push(
      hmac.signing === undefined
        ? {
            variable: SigningEnv.PrivateKeysFile,
            message: `missing: this process's Ed25519 keys, with ${SigningEnv.TrustedKeysFiles} and ${ServiceEnv.SigningActiveKey} (ADR 0038)`,
          }
        : { variable: ServiceEnv.SigningKeys, message: HMAC_DEMO_ONLY },
    );
    return { problems };
  }
  if (privateFile === undefined) problems.push({ variable: SigningEnv.PrivateKeysFile, message: 'missing' });
  if (trustedFiles.length === 0) problems.push({ variable: SigningEnv.TrustedKeysFiles, message: 'missing' });
  const privateKeys =
    privateFile === undefined
      ? undefined
      : readJsonFile(privateFile, SigningEnv.PrivateKeysFile, PrivateKeySet, readFile, problems);
  const trustedKeys = trustedFiles.flatMap(
    (file) => readJsonFile(file, SigningEnv.TrustedKeysFiles, TrustedKeySet, readFile, problems) ?? [],
  );
  // Named, never defaulted: with several keys in the files during a rotation, the first one is not a choice.
  const activeKeyId = value(env, ServiceEnv.SigningActiveKey);
  if (activeKeyId === undefined)
    problems.push({
      variable: ServiceEnv.SigningActiveKey,
      message: 'missing: the id of the private key to sign with',
    });
  else if (privateKeys !== undefined && !privateKeys.some((k) => k.id === activeKeyId))
    problems.push({
      variable: ServiceEnv.SigningActiveKey,
      message: `"${activeKeyId}" is not one of the private keys`,
    });
  // HMAC keys beside Ed25519: accepted (never used to sign) in memory only; on Kafka they would let every holder
  // of the shared secret forge any message.
  const { [ServiceEnv.SigningActiveKey]: _active, ...hmacEnv } = env;
  const hmac = readSigningKeys(hmacEnv, readFile, { required: false });
  problems.push(...hmac.problems);
  if (hmac.signing !== undefined && options.external)
    problems.push({ variable: ServiceEnv.SigningKeys, message: HMAC_DEMO_ONLY });
  if (problems.length > 0 || privateKeys === undefined || activeKeyId === undefined) return { problems };
  return {
    signing: { ...(hmac.signing ? { keys: hmac.signing.keys } : {}), privateKeys, trustedKeys, activeKeyId },
    problems,
  };
}
