import { clusterKey, MessageType, WireLayout } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from './ed25519-keys.js';
import { encodeEnvelope, inspectRecord } from './envelope.js';
import type { OutgoingMessage } from './event-bus.js';
import { wrongSigner } from './signer-check.js';
import { MessageSigner } from './signing.js';

const NOW = Date.parse('2026-12-06T00:00:00Z');
const position = { topic: 'meshwave.events', partition: 0, offset: '0' };
const planner = generateSigningKeyPair('planner-1', 'planner');
const prod1 = generateSigningKeyPair('prod-1-a', clusterKey('prod-1'));
const prod2 = generateSigningKeyPair('prod-2-a', clusterKey('prod-2'));
const trusted = [planner.trustedKey, prod1.trustedKey, prod2.trustedKey];

const signerOf = (pair: typeof planner): MessageSigner =>
  new MessageSigner({ privateKeys: [pair.privateKey], trustedKeys: trusted, activeKeyId: pair.privateKey.id });

const inventoryOf = (cluster: string): OutgoingMessage => ({
  topic: 'events',
  key: clusterKey(cluster),
  type: MessageType.Inventory,
  data: { cluster, labels: {}, generation: 1, workloads: [] },
});
const halt: OutgoingMessage = {
  topic: 'commands',
  key: clusterKey('prod-2'),
  type: MessageType.Halt,
  data: { rolloutId: 'r1', wave: 0, generation: 1, epoch: 1, target: 'prod-2', reason: 'x' },
};

/** What a consumer trusting every key makes of `message`, sent by `source` signed with `pair`'s key. */
function verdictOf(message: OutgoingMessage, pair: typeof planner, source: string, layout: WireLayout): string {
  const record = encodeEnvelope(message, {
    source,
    nowMs: NOW,
    defaultTtlSeconds: 60,
    signer: signerOf(pair),
    trace: {},
    wireLayout: layout,
  });
  const verdict = inspectRecord(record, position, { signer: signerOf(planner), nowMs: NOW, clockSkewMs: 0 });
  return verdict.kind === 'reject' ? `${verdict.reason}: ${verdict.detail}` : verdict.kind;
}

describe.each(Object.values(WireLayout))('who may sign what, Ed25519, layout %s', (layout) => {
  it('takes a cluster report signed by that cluster, and a command signed by the planner', () => {
    expect(verdictOf(inventoryOf('prod-1'), prod1, clusterKey('prod-1'), layout)).toBe('deliver');
    expect(verdictOf(halt, planner, 'planner/replica-0', layout)).toBe('deliver');
  });

  it("refuses a report for another cluster signed with a cluster's own key (cross-cluster)", () => {
    expect(verdictOf(inventoryOf('prod-2'), prod1, clusterKey('prod-1'), layout)).toMatch(
      /^wrong-signer: .*must be signed by "cluster\/prod-2"/,
    );
  });

  it("refuses a delta for another cluster, or for a name under the signer's own, signed with a cluster's key", () => {
    const delta = (cluster: string): OutgoingMessage => ({
      topic: 'events',
      key: clusterKey('prod-1'),
      type: MessageType.InventoryDelta,
      data: { cluster, labels: {}, generation: 2, base: 1, upserted: [], removed: [] },
    });
    expect(verdictOf(delta('prod-1'), prod1, clusterKey('prod-1'), layout)).toBe('deliver');
    expect(verdictOf(delta('prod-2'), prod1, clusterKey('prod-1'), layout)).toMatch(
      /^wrong-signer: .*must be signed by "cluster\/prod-2"/,
    );
    // the schema refuses `prod-1/x` as a cluster name; the signer check alone does too (exact, never a prefix)
    expect(() => verdictOf(delta('prod-1/x'), prod1, clusterKey('prod-1'), layout)).toThrow(/at cluster/);
    const data = { cluster: 'prod-1/x' };
    const keyId = prod1.privateKey.id;
    expect(wrongSigner(signerOf(planner), keyId, clusterKey('prod-1'), MessageType.InventoryDelta, data)).toMatch(
      /must be signed by "cluster\/prod-1\/x"/,
    );
  });

  it("refuses an inventory resync signed with an agent's key", () => {
    const resync: OutgoingMessage = {
      topic: 'commands',
      key: clusterKey('prod-2'),
      type: MessageType.InventoryResync,
      data: { cluster: 'prod-2', reason: 'gap' },
    };
    expect(verdictOf(resync, prod1, clusterKey('prod-1'), layout)).toMatch(/^wrong-signer: .*"planner"/);
    expect(verdictOf(resync, planner, 'planner/replica-0', layout)).toBe('deliver');
  });

  it("refuses a command signed with an agent's key, and a message claiming a source its key does not cover", () => {
    expect(verdictOf(halt, prod1, clusterKey('prod-1'), layout)).toMatch(/^wrong-signer: .*"planner"/);
    expect(verdictOf(halt, prod1, 'planner/replica-0', layout)).toMatch(/^wrong-signer: .*for source "planner/);
    expect(verdictOf(inventoryOf('prod-2'), prod1, clusterKey('prod-2'), layout)).toMatch(/^wrong-signer: /);
  });

  it('refuses a health report naming another cluster as its source', () => {
    const health: OutgoingMessage = {
      topic: 'events',
      key: clusterKey('prod-1'),
      type: MessageType.Health,
      data: { source: 'prod-2', generation: 1, observedAt: '2026-12-06T00:00:00Z', units: [] },
    };
    expect(verdictOf(health, prod1, clusterKey('prod-1'), layout)).toMatch(/^wrong-signer: /);
    expect(
      verdictOf({ ...health, data: { ...health.data, source: 'prod-1' } }, prod1, clusterKey('prod-1'), layout),
    ).toBe('deliver');
  });
});
