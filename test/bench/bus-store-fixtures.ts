// What both parts of the bus/store benchmark (bus-store.ts) share: the command they send or store, the signing
// keys, and the percentile of a sorted sample.
import { generateSigningKeyPair, type OutgoingMessage, type SigningOptions } from '@meshwave/bus';
import { MessageType } from '@meshwave/contracts';

/** partition keys (clusters) the commands are spread over */
export const KEYS = 50;

/** The embedded demo's scheme (ADR 0004): one shared HMAC key. */
export const SIGNING: SigningOptions = {
  keys: [{ id: 'bench', secret: 'bench-secret-bench-secret-bench-secret!' }],
  activeKeyId: 'bench',
};

/** Every process on Kafka's scheme (ADR 0038, 0046): the planner's Ed25519 key, its public half trusted. */
const plannerPair = generateSigningKeyPair('bench-ed25519', 'planner');
export const ED25519_SIGNING: SigningOptions = {
  privateKeys: [plannerPair.privateKey],
  trustedKeys: [plannerPair.trustedKey],
  activeKeyId: plannerPair.privateKey.id,
};

export const SigningScheme = { Hmac: 'HMAC', Ed25519: 'Ed25519' } as const;
export type SigningScheme = (typeof SigningScheme)[keyof typeof SigningScheme];
export const signingOf = (scheme: SigningScheme): SigningOptions =>
  scheme === SigningScheme.Hmac ? SIGNING : ED25519_SIGNING;

export type BenchCommand = OutgoingMessage<typeof MessageType.ClusterDesiredState>;

export function newCommand(seq: number): BenchCommand {
  const cluster = `c-${seq % KEYS}`;
  return {
    topic: 'commands',
    key: `cluster/${cluster}`,
    audience: `cluster/${cluster}`,
    type: MessageType.ClusterDesiredState,
    data: {
      rolloutId: 'r-bench',
      wave: 1,
      generation: seq + 1,
      epoch: 7,
      cluster,
      from: '1-24-5',
      to: '1-25-2',
      granularity: 'workload',
      maxUnavailable: 2,
      units: Array.from({ length: 5 }, (_, u) => ({
        namespace: `team-${u}`,
        kind: 'Deployment',
        name: `svc-${u}`,
        revision: '1-25-2',
      })),
      halted: false,
      progressDeadlineSeconds: 600,
    },
  };
}

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
