// A fleet's Ed25519 keys as an operator lays them out (ADR 0038, README "Run it for real"): per process a private
// keys file it alone reads, and trusted-keys files: the planner's public keys (every agent and the bridge read
// it) and one file per cluster-agent and the bridge (the planner reads them all).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSigningKeyPair, type SigningKeyPair, type SigningOptions } from '@meshwave/bus';
import { clusterKey } from '@meshwave/contracts';

export interface SigningFleet {
  readonly dir: string;
  /** the environment of the planner (`planner`), of a cluster-agent (a cluster name) or of the bridge (`vm-bridge`) */
  envFor(who: string): Record<string, string>;
  /** the same as bus options, for a process the test runs in itself */
  signingFor(who: string): SigningOptions;
  /** the key pair of `who`, for forging with it */
  pairOf(who: string): SigningKeyPair;
  /** every private key's PEM: what must never appear in a log */
  readonly secrets: readonly string[];
  cleanup(): void;
}

const principalOf = (who: string): string => (who === 'planner' || who === 'vm-bridge' ? who : clusterKey(who));

/** Keys for the planner, the bridge and each of `clusters`, written as files under a fresh temporary directory. */
export function newSigningFleet(clusters: readonly string[]): SigningFleet {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshwave-keys-'));
  const members = ['planner', 'vm-bridge', ...clusters];
  const pairs = new Map(members.map((who) => [who, generateSigningKeyPair(`${who}-1`, principalOf(who))]));
  const pairOf = (who: string): SigningKeyPair => {
    const pair = pairs.get(who);
    if (pair === undefined) throw new Error(`no keys for ${who}`);
    return pair;
  };
  const write = (name: string, content: unknown): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(content), { mode: 0o600 });
    return file;
  };
  for (const who of members) {
    write(`${who}.private.json`, [pairOf(who).privateKey]);
    write(`${who}.public.json`, [pairOf(who).trustedKey]);
  }
  /** the planner trusts every member; the others trust the planner only */
  const trusts = (who: string): string[] => (who === 'planner' ? members : ['planner']);
  return {
    dir,
    envFor: (who) => ({
      MESHWAVE_SIGNING_PRIVATE_KEYS_FILE: path.join(dir, `${who}.private.json`),
      MESHWAVE_SIGNING_TRUSTED_KEYS_FILES: trusts(who)
        .map((m) => path.join(dir, `${m}.public.json`))
        .join(','),
      MESHWAVE_SIGNING_ACTIVE_KEY: pairOf(who).privateKey.id,
    }),
    signingFor: (who) => ({
      privateKeys: [pairOf(who).privateKey],
      trustedKeys: trusts(who).map((m) => pairOf(m).trustedKey),
      activeKeyId: pairOf(who).privateKey.id,
    }),
    pairOf,
    secrets: members.map((who) => pairOf(who).privateKey.privateKey),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** the variable that tells a child process of a test where a fleet's key files are (`signingFromFiles`) */
export const KEYS_DIR_VARIABLE = 'MESHWAVE_TEST_KEYS_DIR';

/**
 * `who`'s bus signing options read back from the key files of a fleet in `dir` (`newSigningFleet(...).dir`), for a
 * child process of the test that plays several members (the fleet benchmark's simulator): its private keys, and
 * the planner's public keys (the planner's: every member's).
 */
export function signingFromFiles(dir: string, who: string): SigningOptions {
  const read = <T>(name: string): T[] => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as T[];
  const privateKeys = read<SigningKeyPair['privateKey']>(`${who}.private.json`);
  const publicFiles =
    who === 'planner' ? fs.readdirSync(dir).filter((f) => f.endsWith('.public.json')) : ['planner.public.json'];
  return {
    privateKeys,
    trustedKeys: publicFiles.flatMap((f) => read<SigningKeyPair['trustedKey']>(f)),
    activeKeyId: privateKeys[0]!.id,
  };
}

/**
 * The configured secrets `log` contains, by name: each secret is looked for whole and by its longest line (a PEM
 * body, a token), so a secret logged re-wrapped or cut into a line is still found.
 */
export function secretsIn(log: string, secrets: Readonly<Record<string, string>>): string[] {
  const found: string[] = [];
  for (const [name, secret] of Object.entries(secrets)) {
    const lines = secret.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'));
    const needles = [secret, ...lines, ...lines.map((l) => JSON.stringify(l).slice(1, -1))];
    if (needles.some((n) => n.length > 0 && log.includes(n))) found.push(name);
  }
  return found;
}
