// Ed25519 on real Kafka (ADR 0038): the planner process signs commands, each agent its reports with its own key.
// A forged command, a cluster's key on another cluster's report, a replayed and a stale health report are each
// refused onto the DLQ with their reason, and nothing they carry is acted on.
import { createKafkaBus, encodeEnvelope, MessageSigner, type DeadLetter, type OutgoingMessage } from '@meshwave/bus';
import { clusterKey, MessageType } from '@meshwave/contracts';
import { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTestEnv, type TestEnv } from '../../support/env.js';
import {
  api,
  buses,
  keys,
  leaderOf,
  newRun,
  startAgents,
  startPlanner,
  until,
  buildPlanner,
  stopAll,
} from './planner-processes.js';

let env: TestEnv;

beforeAll(() => {
  env = loadTestEnv();
  buildPlanner();
});

afterAll(async () => {
  await stopAll();
  keys.cleanup();
});

/** A record signed with `signer` as `source` would sign it, for a producer that is not a meshwave bus. */
const forge = (message: OutgoingMessage, source: string, signer: MessageSigner) =>
  encodeEnvelope(message, { source, nowMs: Date.now(), defaultTtlSeconds: 600, signer, trace: {} });

const health = (generation: number, observedAt: Date): OutgoingMessage => ({
  topic: 'events',
  key: clusterKey('it-1'),
  type: MessageType.Health,
  data: { source: 'it-1', generation, observedAt: observedAt.toISOString(), units: [] },
});

describe('Ed25519 signing on Kafka', () => {
  it("Given a planner process and three agents with their own keys, When commands and reports are forged, replayed or sent with another cluster's key, Then each is refused onto the DLQ with its reason and nothing is acted on", async () => {
    const run = newRun();
    const fleet = await startAgents(env, run, 0);
    const p = await startPlanner(env, 'signing', run);
    await until('leadership', () => leaderOf([p]));
    await until('inventory from every agent, each signed with its own key', async () =>
      (await api<{ clusters: unknown[] }>(p, 'GET', '/v1/fleet')).body.clusters.length === 3 ? true : undefined,
    );
    const observer = createKafkaBus({
      brokers: env.kafka.brokers,
      source: 'it-observer',
      signing: keys.signingFor('planner'),
      topicNames: run.topics,
    });
    buses.push(observer);
    const dead: DeadLetter[] = [];
    await observer.subscribeDeadLetters({
      groupId: `it-${run.id}-dlq`,
      fromBeginning: true,
      handler: async (d) => void dead.push(d),
    });

    const it1 = keys.pairOf('it-1').privateKey;
    const it1Signer = new MessageSigner({ privateKeys: [it1], activeKeyId: it1.id });
    // it-1's private key presented under the planner's key id: what a stolen agent key can try
    const posing = new MessageSigner({
      privateKeys: [{ ...it1, id: keys.pairOf('planner').privateKey.id }],
      activeKeyId: keys.pairOf('planner').privateKey.id,
    });
    const halt: OutgoingMessage = {
      topic: 'commands',
      key: clusterKey('it-2'),
      audience: clusterKey('it-2'),
      type: MessageType.Halt,
      data: { rolloutId: 'forged', wave: 0, generation: 1, epoch: 999, target: 'it-2', reason: 'forged' },
    };
    const crossCluster: OutgoingMessage = {
      topic: 'events',
      key: clusterKey('it-2'),
      type: MessageType.Inventory,
      data: { cluster: 'it-2', labels: {}, generation: Date.now() * 2, workloads: [] },
    };
    const now = new Date();
    const fresh = forge(health(now.getTime(), now), clusterKey('it-1'), it1Signer);
    const stale = forge(health(now.getTime() + 1, new Date(now.getTime() - 600_000)), clusterKey('it-1'), it1Signer);

    const producer = new Kafka({ brokers: [...env.kafka.brokers], logLevel: 0 }).producer();
    await producer.connect();
    try {
      const send = (topic: string, record: ReturnType<typeof forge>) =>
        producer.send({ topic, messages: [{ key: record.key, value: record.value, headers: { ...record.headers } }] });
      await send(run.topics.commands!, forge(halt, clusterKey('it-1'), it1Signer));
      await send(run.topics.commands!, forge(halt, 'planner/forged', posing));
      await send(run.topics.events!, forge(crossCluster, clusterKey('it-1'), it1Signer));
      await send(run.topics.events!, fresh);
      await send(run.topics.events!, fresh); // the same bytes again: a replay
      await send(run.topics.events!, stale);
    } finally {
      await producer.disconnect();
    }

    const refusals = await until(
      'five refusals on the DLQ',
      async () => (dead.length >= 5 ? dead : undefined),
      90_000,
    ).catch((error: unknown) => {
      console.log(
        dead.map((d) => `${d.groupId} ${d.reason} ${d.detail}`),
        p.log.slice(-30).join('\n'),
      );
      throw error;
    });
    const seen = refusals.map((d) => `${d.groupId.replace(`it-${run.id}-`, '')}: ${d.reason}: ${d.detail}`).sort();
    expect(seen).toEqual([
      expect.stringMatching(/^it-2: bad-signature: /),
      expect.stringMatching(/^it-2: unknown-key: signed with unknown key "it-1-1"/),
      expect.stringMatching(/^planner: handler-rejected: .*health report of it-1 replayed: generation/),
      expect.stringMatching(/^planner: handler-rejected: .*health report of it-1 stale: /),
      expect.stringMatching(/^planner: wrong-signer: .*must be signed by "cluster\/it-2"/),
    ]);
    // Nothing forged was acted on: it-2 was never halted, and its inventory is still the one it sent itself.
    expect(fleet.find((a) => a.options.name === 'it-2')!.halts).toEqual([]);
    const it2 = (
      await api<{ clusters: { name: string; workloads: number }[] }>(p, 'GET', '/v1/fleet')
    ).body.clusters.find((c) => c.name === 'it-2');
    expect(it2?.workloads).toBe(8);
  });
});
