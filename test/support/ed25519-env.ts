// One process's Ed25519 signing variables (ADR 0038) for the unit tests of a service's configuration: on Kafka
// the shared HMAC keys are refused (ADR 0046), so a test of anything else in the configuration needs these.
import { readFileSync } from 'node:fs';
import { newSigningFleet } from './signing-fleet.ts';

export interface Ed25519Env {
  /** the three signing variables of `who` (`planner`, `vm-bridge` or a cluster name), pointing at real files */
  readonly env: Readonly<Record<string, string>>;
  /** the id of the key it signs with */
  readonly activeKeyId: string;
  /** reads the key files, and hands any other path to `otherwise` */
  readFile(otherwise: (path: string) => string): (path: string) => string;
  cleanup(): void;
}

export function newEd25519Env(who: string): Ed25519Env {
  const fleet = newSigningFleet(who === 'planner' || who === 'vm-bridge' ? [] : [who]);
  const env = fleet.envFor(who);
  return {
    env,
    activeKeyId: fleet.pairOf(who).privateKey.id,
    readFile: (otherwise) => (path) => (path.startsWith(fleet.dir) ? readFileSync(path, 'utf8') : otherwise(path)),
    cleanup: fleet.cleanup,
  };
}
