// The one behavioural contract of EventBus, run against every implementation (in memory in unit tests, Kafka
// in test/integration/bus). The test functions are passed in, so this module has no runtime dependency on
// vitest and can ship in the package's public API.
import { ROOT_CONTEXT, TraceFlags, context as contextApi, trace } from '@opentelemetry/api';
import { MessageType } from '@meshwave/contracts';
import { encodeEnvelope, Header, sealRecord, type WireRecord } from '../envelope.js';
import { BusError, BusErrorCode, HandlerRejectedError } from '../errors.js';
import type { DeadLetter, IncomingMessage, OutgoingMessage, Subscription } from '../event-bus.js';
import { MessageSigner, type SigningOptions } from '../signing.js';
import { STRUCTURED_CONTENT_TYPE } from '../wire-layout.js';
import {
  contractKit,
  heartbeatVersion,
  newHeartbeat,
  type ContractSigning,
  type ContractTestApi,
  type EventBusContractHarnessFactory,
  type EventBusContractOptions,
} from './contract-kit.js';
import { transientRetryContract } from './transient-retry-contract.js';

export {
  CONTRACT_SIGNING,
  ContractSigningMode,
  newHeartbeat,
  type ContractTestApi,
  type EventBusContractHarness,
  type EventBusContractHarnessFactory,
  type EventBusContractOptions,
} from './contract-kit.js';

function newClusterCommand(
  cluster: string,
  generation: number,
  audience = `cluster/${cluster}`,
): OutgoingMessage<typeof MessageType.ClusterDesiredState> {
  return {
    topic: 'commands',
    key: `cluster/${cluster}`,
    audience,
    type: MessageType.ClusterDesiredState,
    data: {
      rolloutId: 'r-1',
      wave: 0,
      generation,
      epoch: 1,
      cluster,
      from: '1-24-5',
      to: '1-25-2',
      granularity: 'namespace',
      maxUnavailable: 1,
      units: [{ namespace: 'shop', revision: '1-25-2' }],
      halted: false,
      progressDeadlineSeconds: 600,
    },
  };
}

/** A record as a producer of `source` would sign it with the suite's keys (or `signing`, another fleet's). */
function newRecord(
  keys: ContractSigning,
  message: OutgoingMessage,
  options: { signing?: SigningOptions; nowMs?: number; source?: string } = {},
): WireRecord {
  const source = options.source ?? keys.defaultSource;
  return encodeEnvelope(message, {
    source,
    nowMs: options.nowMs ?? Date.now(),
    defaultTtlSeconds: 3600,
    signer: new MessageSigner(options.signing ?? keys.signingFor(source)),
    trace: {},
  });
}

/** A heartbeat of `agent-1` under the partition key `key`: several keys from one sender (an Ed25519 key speaks for one). */
const newKeyedHeartbeat = (key: string, version: string): OutgoingMessage => ({
  ...newHeartbeat('agent-1', version),
  key,
});

/** The data of a dead letter's original record: its whole value, or the event's `data` in the v3 layout. */
function letterData(letter: DeadLetter | undefined): unknown {
  const value = JSON.parse(letter?.value ?? '{}') as { data?: unknown };
  return letter?.headers[Header.ContentType] === STRUCTURED_CONTENT_TYPE ? value.data : value;
}

export function describeEventBusContract(
  name: string,
  factory: EventBusContractHarnessFactory,
  t: ContractTestApi,
  options: EventBusContractOptions = {},
): void {
  const { describe, it, expect, afterEach } = t;

  describe(`EventBus contract: ${name}`, () => {
    const kit = contractKit(factory, afterEach, options);
    const { newHarness, newBus, readDeadLetters, eventually, signing: keys } = kit;
    transientRetryContract(t, kit);

    it('Given a command published inside a trace, When an agent consumes it, Then it has its attributes and the trace continues', async () => {
      const harness = await newHarness();
      const bus = await newBus(harness, { source: 'planner' });
      const received: { message: IncomingMessage; traceId: string | undefined }[] = [];
      await bus.subscribe({
        topic: 'commands',
        groupId: 'agents-a',
        fromBeginning: true,
        audiences: ['cluster/a'],
        handler: async (message) =>
          void received.push({ message, traceId: trace.getSpanContext(contextApi.active())?.traceId }),
      });
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const parent = trace.setSpanContext(ROOT_CONTEXT, {
        traceId,
        spanId: 'b7ad6b7169203331',
        traceFlags: TraceFlags.SAMPLED,
        isRemote: true,
      });
      const command = newClusterCommand('a', 7);
      await contextApi.with(parent, () => bus.publish([command]));

      await eventually(() => expect(received).toHaveLength(1));
      const [{ message, traceId: handlerTraceId }] = received as [(typeof received)[0]];
      expect(message).toMatchObject({
        type: command.type,
        source: 'planner',
        key: 'cluster/a',
        audience: 'cluster/a',
        data: command.data,
      });
      expect(message.id).not.toBe('');
      expect(Date.parse(message.expiresAt ?? '')).toBeGreaterThan(Date.parse(message.time));
      expect(message.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      expect(handlerTraceId).toBe(traceId);
    });

    it('Given interleaved messages of several keys, When consumed with concurrency, Then each key keeps its order', async () => {
      const harness = await newHarness();
      const bus = await newBus(harness, { concurrency: 3 });
      const seen = new Map<string, number[]>();
      await bus.subscribe({
        topic: 'events',
        groupId: 'planner',
        fromBeginning: true,
        handler: async (m) => {
          await new Promise((r) => setTimeout(r, Number(heartbeatVersion(m)) % 3));
          seen.set(m.key, [...(seen.get(m.key) ?? []), Number(heartbeatVersion(m))]);
        },
      });
      const sources = ['agent-1', 'agent-2', 'agent-3', 'agent-4'];
      const perKey = 25;
      for (let i = 0; i < perKey; i += 5) {
        await bus.publish(sources.flatMap((s) => [0, 1, 2, 3, 4].map((j) => newKeyedHeartbeat(s, String(i + j)))));
      }
      const expected = Array.from({ length: perKey }, (_, i) => i);
      await eventually(() => {
        for (const s of sources) expect(seen.get(s)).toEqual(expected);
      });
    });

    it('Given two members of one group and another group, When messages arrive, Then the members share them and the other group gets all', async () => {
      const harness = await newHarness();
      const bus = await newBus(harness);
      const groupA: string[] = [];
      const groupB: string[] = [];
      await bus.subscribe({
        topic: 'events',
        groupId: 'a',
        fromBeginning: true,
        handler: async (m) => void groupA.push(heartbeatVersion(m)),
      });
      await bus.subscribe({
        topic: 'events',
        groupId: 'a',
        fromBeginning: true,
        handler: async (m) => void groupA.push(heartbeatVersion(m)),
      });
      await bus.subscribe({
        topic: 'events',
        groupId: 'b',
        fromBeginning: true,
        handler: async (m) => void groupB.push(heartbeatVersion(m)),
      });
      const versions = Array.from({ length: 30 }, (_, i) => String(i));
      await bus.publish(versions.map((v, i) => newKeyedHeartbeat(`agent-${i % 6}`, v)));
      await eventually(() => {
        expect([...groupA].sort()).toEqual([...versions].sort());
        expect([...groupB].sort()).toEqual([...versions].sort());
      });
    });

    it('Given a consumer killed before committing, When another member takes over, Then the messages come again and an idempotent handler ends in the same state', async () => {
      const harness = await newHarness();
      const bus = await newBus(harness, { shutdownGraceMs: 300, source: 'planner' });
      // Given a consumer that takes the first command and never finishes it (a process that hangs, then is killed)
      const firstSeen: string[] = [];
      const killed = await bus.subscribe({
        topic: 'commands',
        groupId: 'agent-a',
        fromBeginning: true,
        handler: () =>
          new Promise<void>(() => {
            firstSeen.push('taken'); // and never settles
          }),
      });
      const command = newClusterCommand('a', 3);
      await bus.publish([command, newClusterCommand('a', 4)]);
      await eventually(() => expect(firstSeen).toHaveLength(1));
      // When it is closed before committing and another member of the group takes over
      await killed.close();
      const applied = new Map<string, number>();
      const deliveries: number[] = [];
      await bus.subscribe({
        topic: 'commands',
        groupId: 'agent-a',
        fromBeginning: true,
        handler: async (m) => {
          const generation = (m.data as { generation: number }).generation;
          deliveries.push(generation);
          applied.set(m.key, Math.max(applied.get(m.key) ?? 0, generation));
        },
      });
      // Then the uncommitted command comes again, in order, and the end state is what one delivery gives
      await eventually(() => expect(deliveries).toEqual([3, 4]));
      expect(applied.get('cluster/a')).toBe(4);
    });

    it('Given a handler in flight, When its subscription closes, Then the handler finishes and its message is committed', async () => {
      const harness = await newHarness();
      const bus = await newBus(harness);
      const done: string[] = [];
      let started = false;
      const first = await bus.subscribe({
        topic: 'events',
        groupId: 'g',
        fromBeginning: true,
        handler: async (m) => {
          started = true;
          await new Promise((r) => setTimeout(r, 200));
          done.push(heartbeatVersion(m));
        },
      });
      await bus.publish([newHeartbeat('agent-1', 'slow')]);
      await eventually(() => expect(started).toBe(true));
      await first.close();
      expect(done).toEqual(['slow']);
      // A later member of the group starts after it: it gets the next message and not the finished one again.
      const later: string[] = [];
      await bus.subscribe({
        topic: 'events',
        groupId: 'g',
        fromBeginning: true,
        handler: async (m) => void later.push(heartbeatVersion(m)),
      });
      await bus.publish([newHeartbeat('agent-1', 'next')]);
      await eventually(() => expect(later).toEqual(['next']));
    });

    it('Given a handler failing transiently, When it is retried with backoff, Then it succeeds and nothing goes to the DLQ', async () => {
      const harness = await newHarness();
      const bus = await newBus(harness);
      const attempts: number[] = [];
      await bus.subscribe({
        topic: 'events',
        groupId: 'g',
        fromBeginning: true,
        handler: async (_m, ctx) => {
          attempts.push(ctx.attempt);
          if (ctx.attempt < 3) throw new Error('redis briefly unavailable');
        },
      });
      const letters = await readDeadLetters(bus);
      await bus.publish([newHeartbeat('agent-1', '1'), newHeartbeat('agent-1', '2')]);
      await eventually(() => expect(attempts).toEqual([1, 2, 3, 1, 2, 3]));
      expect(letters).toEqual([]);
    });

    it('Given a handler that rejects one message and always fails on another, When they arrive, Then both reach the DLQ with their reasons and the consumer goes on', async () => {
      const harness = await newHarness();
      const bus = await newBus(harness);
      const handled: string[] = [];
      const rejections: DeadLetter[] = [];
      await bus.subscribe({
        topic: 'events',
        groupId: 'planner',
        fromBeginning: true,
        onRejected: (r) => void rejections.push(r),
        handler: async (m) => {
          const v = heartbeatVersion(m);
          if (v === 'poison') throw new HandlerRejectedError('cannot ever apply this');
          if (v === 'broken') throw new Error('keeps failing');
          handled.push(v);
        },
      });
      const letters = await readDeadLetters(bus);
      await bus.publish([
        newHeartbeat('agent-1', 'poison'),
        newHeartbeat('agent-1', 'broken'),
        newHeartbeat('agent-1', 'fine'),
      ]);
      await eventually(() => {
        expect(handled).toEqual(['fine']);
        expect(letters.map((l) => l.reason)).toEqual(['handler-rejected', 'handler-failed']);
      });
      expect(letters[0]).toMatchObject({
        groupId: 'planner',
        key: 'agent-1',
        detail: expect.stringContaining('cannot ever apply this'),
      });
      expect(letterData(letters[0])).toMatchObject({ version: 'poison' });
      expect(rejections.map((r) => r.reason)).toEqual(['handler-rejected', 'handler-failed']);
    });

    it('Given unsigned, tampered, foreign-fleet, expired and malformed records, When consumed, Then each reaches the DLQ with its reason and the consumer goes on', async () => {
      const harness = await newHarness();
      const bus = await newBus(harness);
      const handled: string[] = [];
      await bus.subscribe({
        topic: 'events',
        groupId: 'planner',
        fromBeginning: true,
        handler: async (m) => void handled.push(heartbeatVersion(m)),
      });
      const letters = await readDeadLetters(bus);

      const valid = newRecord(keys, newHeartbeat('agent-1', 'valid'));
      const signer = new MessageSigner(keys.signingFor(keys.defaultSource));
      const unsigned: Record<string, string> = { ...valid.headers };
      delete unsigned['mw_signature'];
      const tampered = Buffer.from(valid.value.toString('utf8').replace('valid', 'forged'));
      const expired = newRecord(
        keys,
        { ...newHeartbeat('agent-1', 'expired'), ttlSeconds: 60 },
        { nowMs: Date.now() - 3_600_000 },
      );
      const invalidData = sealRecord({ ...valid, value: Buffer.from(JSON.stringify({ source: 'agent-1' })) }, signer);
      const unknownType = sealRecord(
        { ...valid, headers: { ...valid.headers, ce_type: 'io.example.unknown.v1' } },
        signer,
      );
      const noType: Record<string, string> = { ...valid.headers };
      delete noType['ce_type'];
      const invalidEnvelope = sealRecord({ ...valid, headers: noType }, signer);

      await harness.produceRaw('events', { ...valid, headers: unsigned });
      await harness.produceRaw('events', { ...valid, value: tampered });
      await harness.produceRaw(
        'events',
        newRecord(keys, newHeartbeat('agent-1', 'foreign'), { signing: keys.foreign }),
      );
      await harness.produceRaw('events', expired);
      await harness.produceRaw('events', invalidData);
      await harness.produceRaw('events', unknownType);
      await harness.produceRaw('events', invalidEnvelope);
      await harness.produceRaw('events', valid);

      await eventually(() => {
        expect(handled).toEqual(['valid']);
        expect(letters.map((l) => l.reason)).toEqual([
          'unsigned',
          'bad-signature',
          'unknown-key',
          'expired',
          'invalid-data',
          'unknown-type',
          'invalid-envelope',
        ]);
      });
      expect(letters[1]).toMatchObject({
        key: 'agent-1',
        partition: expect.any(Number),
        headers: expect.objectContaining({ ce_type: MessageType.Heartbeat }),
      });
      expect(letters[1]?.value).toContain('forged');
    });

    it('Given a key set of two keys, When producers sign with either, Then the consumer accepts both (rotation)', async () => {
      const harness = await newHarness();
      const consumer = await newBus(harness);
      const rotated = await newBus(harness, { signing: keys.rotatedFor(keys.defaultSource) });
      const handled: string[] = [];
      await consumer.subscribe({
        topic: 'events',
        groupId: 'planner',
        fromBeginning: true,
        handler: async (m) => void handled.push(heartbeatVersion(m)),
      });
      await consumer.publish([newHeartbeat('agent-1', 'old-key')]);
      await rotated.publish([newHeartbeat('agent-1', 'new-key')]);
      await eventually(() => expect(handled).toEqual(['old-key', 'new-key']));
    });

    it("Given cluster b's agent, When a command for cluster a is replayed on b's key, Then it is refused as wrong-audience, and a's own traffic is skipped", async () => {
      const harness = await newHarness();
      const planner = await newBus(harness, { source: 'planner' });
      const agentB = await newBus(harness, { source: 'cluster-agent/b' });
      const handled: number[] = [];
      const rejected: DeadLetter[] = [];
      await agentB.subscribe({
        topic: 'commands',
        groupId: 'agent-b',
        fromBeginning: true,
        audiences: ['cluster/b'],
        onRejected: (r) => void rejected.push(r),
        handler: async (m) => void handled.push((m.data as { generation: number }).generation),
      });
      const letters = await readDeadLetters(agentB);
      // a signed command for cluster a, replayed with cluster b's key
      const forA = newRecord(keys, newClusterCommand('a', 1), { source: 'planner' });
      await harness.produceRaw('commands', { ...forA, key: 'cluster/b' });
      // cluster a's own traffic on the shared topic
      await planner.publish([newClusterCommand('a', 2)]);
      await planner.publish([newClusterCommand('b', 3)]);
      await eventually(() => expect(handled).toEqual([3]));
      await eventually(() => expect(letters.map((l) => l.reason)).toEqual(['wrong-audience']));
      expect(rejected.map((r) => [r.reason, r.key, r.groupId])).toEqual([['wrong-audience', 'cluster/b', 'agent-b']]);
    });

    it('Given a subscription to one type, When other types arrive, Then they are skipped without a DLQ entry', async () => {
      const harness = await newHarness();
      const bus = await newBus(harness);
      const handled: string[] = [];
      await bus.subscribe({
        topic: 'events',
        groupId: 'g',
        fromBeginning: true,
        types: [MessageType.Heartbeat],
        handler: async (m) => void handled.push(m.type),
      });
      const letters = await readDeadLetters(bus);
      await bus.publish([
        {
          topic: 'events',
          key: 'agent-1',
          type: MessageType.CommandRejected,
          data: { source: 'agent-1', reason: 'expired' },
        },
        newHeartbeat('agent-1', '1'),
      ]);
      await eventually(() => expect(handled).toEqual([MessageType.Heartbeat]));
      expect(letters).toEqual([]);
    });

    it('Given a batch with one invalid message, When it is published, Then publish fails with BUS_INVALID_MESSAGE and none of it is sent', async () => {
      const harness = await newHarness();
      const bus = await newBus(harness);
      const handled: string[] = [];
      await bus.subscribe({
        topic: 'events',
        groupId: 'g',
        fromBeginning: true,
        handler: async (m) => void handled.push(heartbeatVersion(m)),
      });
      const invalid = {
        topic: 'events',
        key: 'agent-1',
        type: MessageType.Heartbeat,
        data: { source: 'agent-1' },
      } as unknown as OutgoingMessage;
      const error = await bus.publish([newHeartbeat('agent-1', 'before'), invalid]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BusError);
      expect((error as BusError).code).toBe(BusErrorCode.InvalidMessage);
      await bus.publish([newHeartbeat('agent-1', 'after')]);
      await eventually(() => expect(handled).toEqual(['after']));
    });

    it('Given a closed subscription, When more messages arrive, Then its handler sees none of them', async () => {
      const harness = await newHarness();
      const bus = await newBus(harness);
      const handled: string[] = [];
      const sub: Subscription = await bus.subscribe({
        topic: 'events',
        groupId: 'g',
        fromBeginning: true,
        handler: async (m) => void handled.push(heartbeatVersion(m)),
      });
      await bus.publish([newHeartbeat('agent-1', '1')]);
      await eventually(() => expect(handled).toEqual(['1']));
      await sub.close();
      // a second group reading the same topic proves the next message was published and readable
      const other: string[] = [];
      await bus.subscribe({
        topic: 'events',
        groupId: 'g2',
        fromBeginning: true,
        handler: async (m) => void other.push(heartbeatVersion(m)),
      });
      await bus.publish([newHeartbeat('agent-1', '2')]);
      await eventually(() => expect(other).toEqual(['1', '2']));
      expect(handled).toEqual(['1']);
    });
  });
}
