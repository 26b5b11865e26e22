// What every EventBus contract suite shares: the harness an implementation supplies, the test functions passed
// in (so the suites ship without a runtime dependency on vitest), and the helpers each test starts from.
import { MessageType, type Heartbeat, type Topic } from '@meshwave/contracts';
import type { afterEach as AfterEach, describe as Describe, expect as Expect, it as It } from 'vitest';
import type { BusOptions } from '../bus-options.js';
import type { WireRecord } from '../envelope.js';
import type { DeadLetter, EventBus, IncomingMessage, OutgoingMessage } from '../event-bus.js';
import { generateSigningKeyPair, type SigningKeyPair } from '../ed25519-keys.js';
import type { SigningOptions } from '../signing.js';

/** What the suite needs from an implementation. One harness per test: fresh topics (or a fresh broker). */
export interface EventBusContractHarness {
  /** a bus client; the harness supplies connection details and its own topic names */
  createBus(options: BusOptions): Promise<EventBus>;
  /** puts a record on a topic as any producer could (unsigned, tampered, foreign) */
  produceRaw(topic: Topic, record: WireRecord): Promise<void>;
  close(): Promise<void>;
}

export type EventBusContractHarnessFactory = () => Promise<EventBusContractHarness>;

export interface ContractTestApi {
  readonly describe: typeof Describe;
  readonly it: typeof It;
  readonly expect: typeof Expect;
  readonly afterEach: typeof AfterEach;
}

export interface EventBusContractOptions {
  /** upper bound to wait for something asynchronous to happen (not a performance assertion); default 20 s */
  readonly waitMs?: number;
  /** how the suite's buses sign: the embedded demo's HMAC (default) or Ed25519, as every process on Kafka does */
  readonly signing?: ContractSigningMode;
}

/** The two signing schemes a bus runs with (ADR 0004 for the embedded demo, ADR 0038 on Kafka). */
export const ContractSigningMode = { Hmac: 'hmac', Ed25519: 'ed25519' } as const;
export type ContractSigningMode = (typeof ContractSigningMode)[keyof typeof ContractSigningMode];

/**
 * The keys of a contract suite. With Ed25519 a message is accepted only from the principal its data speaks for
 * (ADR 0038), so a bus signs as the sender its source names: `planner` as the planner, any other as the agent
 * `agent-1` whose heartbeats the suite sends.
 */
export interface ContractSigning {
  readonly mode: ContractSigningMode;
  /** the source of a bus a test does not name */
  readonly defaultSource: string;
  /** what a bus publishing as `source` signs with and accepts */
  signingFor(source: string): SigningOptions;
  /** the same, signing with its owner's second key (a rotation) */
  rotatedFor(source: string): SigningOptions;
  /** another fleet's keys, which nobody here trusts */
  readonly foreign: SigningOptions;
}

/** The fleet key every contract bus uses, and a second one for rotation. 32+ bytes each. */
export const CONTRACT_SIGNING: SigningOptions = {
  keys: [
    { id: 'fleet-2026-01', secret: 'contract-test-secret-0000000000000001' },
    { id: 'fleet-2026-02', secret: 'contract-test-secret-0000000000000002' },
  ],
  activeKeyId: 'fleet-2026-01',
};

const FOREIGN_HMAC: SigningOptions = {
  keys: [{ id: 'other-fleet', secret: 'another-fleet-secret-000000000000000' }],
  activeKeyId: 'other-fleet',
};

/** The suite's keys in `mode`; Ed25519 pairs are made afresh for each suite. */
export function contractSigning(mode: ContractSigningMode = ContractSigningMode.Hmac): ContractSigning {
  if (mode === ContractSigningMode.Hmac)
    return {
      mode,
      defaultSource: 'contract-test',
      signingFor: () => CONTRACT_SIGNING,
      rotatedFor: () => ({ ...CONTRACT_SIGNING, activeKeyId: 'fleet-2026-02' }),
      foreign: FOREIGN_HMAC,
    };
  const agent = 'cluster/agent-1' as const;
  const pairs: Record<'planner' | typeof agent, readonly [SigningKeyPair, SigningKeyPair]> = {
    planner: [generateSigningKeyPair('planner-1', 'planner'), generateSigningKeyPair('planner-2', 'planner')],
    [agent]: [generateSigningKeyPair('agent-1-1', agent), generateSigningKeyPair('agent-1-2', agent)],
  };
  const trustedKeys = Object.values(pairs).flatMap((p) => p.map((k) => k.trustedKey));
  const keysOf = (source: string, active: 0 | 1): SigningOptions => {
    const own = source === 'planner' || source.startsWith('planner/') ? pairs.planner : pairs[agent];
    return { privateKeys: own.map((k) => k.privateKey), trustedKeys, activeKeyId: own[active].privateKey.id };
  };
  const stranger = generateSigningKeyPair('other-fleet', agent);
  return {
    mode,
    defaultSource: agent,
    signingFor: (source) => keysOf(source, 0),
    rotatedFor: (source) => keysOf(source, 1),
    foreign: { privateKeys: [stranger.privateKey], trustedKeys, activeKeyId: stranger.privateKey.id },
  };
}

export function newHeartbeat(source: string, version: string): OutgoingMessage<typeof MessageType.Heartbeat> {
  return {
    topic: 'events',
    key: source,
    type: MessageType.Heartbeat,
    data: { source, version, at: '2026-11-22T20:00:00Z' },
  };
}

export const heartbeatVersion = (m: IncomingMessage): string => (m.data as Heartbeat).version;

/** The helpers of one suite; call inside its `describe`: it registers the `afterEach` that closes what a test made. */
export interface ContractKit {
  readonly signing: ContractSigning;
  newHarness(): Promise<EventBusContractHarness>;
  newBus(harness: EventBusContractHarness, overrides?: Partial<BusOptions>): Promise<EventBus>;
  /** collects the DLQ of a harness */
  readDeadLetters(bus: EventBus): Promise<DeadLetter[]>;
  /** retries `check` until it passes or `waitMs` is over */
  eventually(check: () => void): Promise<void>;
}

export function contractKit(
  factory: EventBusContractHarnessFactory,
  afterEach: typeof AfterEach,
  options: EventBusContractOptions = {},
): ContractKit {
  const waitMs = options.waitMs ?? 20_000;
  const signing = contractSigning(options.signing);
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    signing,
    async newHarness() {
      const harness = await factory();
      cleanups.push(() => harness.close());
      return harness;
    },
    async newBus(harness, overrides = {}) {
      const source = overrides.source ?? signing.defaultSource;
      const bus = await harness.createBus({
        source,
        signing: signing.signingFor(source),
        retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 50 },
        shutdownGraceMs: 2_000,
        ...overrides,
      });
      cleanups.push(() => bus.close());
      return bus;
    },
    async readDeadLetters(bus) {
      const letters: DeadLetter[] = [];
      await bus.subscribeDeadLetters({
        groupId: `dlq-reader-${Math.random().toString(36).slice(2)}`,
        fromBeginning: true,
        handler: async (d) => void letters.push(d),
      });
      return letters;
    },
    async eventually(check) {
      const deadline = Date.now() + waitMs;
      for (;;) {
        try {
          check();
          return;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((r) => setTimeout(r, 25));
        }
      }
    },
  };
}
