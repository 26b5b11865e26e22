import { MessageType } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { encodeEnvelope, Header, inspectRecord, type InspectContext, type WireRecord } from './envelope.js';
import { MessageSigner } from './signing.js';
import { sealEvent, StructuredEvent } from './structured-envelope.js';
import {
  formatValueSeal,
  parseSeal,
  parseValueSeal,
  SEAL_HEADER,
  STRUCTURED_CONTENT_TYPE,
  WireLayout,
  type ValueSeal,
} from './wire-layout.js';

const signer = new MessageSigner({
  keys: [
    { id: 'k1', secret: 'a-fleet-secret-of-at-least-32-bytes!' },
    { id: 'k2', secret: 'another-fleet-secret-of-32-bytes!!!!' },
  ],
  activeKeyId: 'k1',
});
const NOW = Date.parse('2026-11-23T00:00:00Z');
const position = { topic: 'meshwave.commands', partition: 0, offset: '0' };
const inspect: InspectContext = { signer, nowMs: NOW, clockSkewMs: 30_000, audiences: ['cluster/prod-1'] };

function newRecord(wireLayout: WireLayout, audience: string | null = 'cluster/prod-1', key = 'prod-1'): WireRecord {
  return encodeEnvelope(
    {
      topic: 'events',
      key,
      ...(audience !== null ? { audience } : {}),
      type: MessageType.Heartbeat,
      data: { source: 'agent-1', version: '1.0.0', at: '2026-11-23T00:00:00Z' },
    },
    { source: 'planner', nowMs: NOW, defaultTtlSeconds: 3600, signer, trace: {}, wireLayout },
  );
}

const withHeaders = (record: WireRecord, headers: Record<string, string>): WireRecord => ({
  ...record,
  headers: { ...record.headers, ...headers },
});

/** The record with its event edited, then sealed again with a fleet key (a valid signature over bad content). */
function resealed(record: WireRecord, edit: (event: Record<string, unknown>) => void): WireRecord {
  const event = JSON.parse(record.value.toString('utf8')) as Record<string, unknown>;
  edit(event);
  return sealEvent({ ...record, value: Buffer.from(JSON.stringify(event)) }, signer, event['audience'] as string);
}

const outcome = (r: WireRecord, ctx: InspectContext = inspect): string => {
  const v = inspectRecord(r, position, ctx);
  return v.kind === 'reject' ? v.reason : v.kind;
};

describe('wire layout v3, CloudEvents structured mode (ADR 0026)', () => {
  it('carries the event in the value and two headers, and delivers what v1 and v2 deliver', () => {
    const v3 = newRecord(WireLayout.V3);
    expect(Object.keys(v3.headers)).toEqual([Header.ContentType, SEAL_HEADER]);
    expect(parseValueSeal(v3.headers[SEAL_HEADER]!)).toMatchObject({ keyId: 'k1', audience: 'cluster/prod-1' });
    expect(Object.keys(newRecord(WireLayout.V3, null).headers)).toEqual([Header.ContentType, SEAL_HEADER]);
    expect(parseValueSeal(newRecord(WireLayout.V3, null).headers[SEAL_HEADER]!)).not.toHaveProperty('audience');
    expect(v3.headers[Header.ContentType]).toBe(STRUCTURED_CONTENT_TYPE);
    expect(StructuredEvent.parse(JSON.parse(v3.value.toString('utf8')))).toMatchObject({
      specversion: '1.0',
      type: MessageType.Heartbeat,
      source: 'planner',
      audience: 'cluster/prod-1',
      expiry: '2026-11-23T01:00:00.000Z',
      data: { version: '1.0.0' },
    });
    const delivered = [WireLayout.V1, WireLayout.V2, WireLayout.V3].map((layout) => {
      const v = inspectRecord(newRecord(layout), position, inspect);
      return v.kind === 'deliver' ? { ...v.message, id: '' } : v;
    });
    expect(delivered[2]).toEqual(delivered[0]);
    expect(delivered[1]).toEqual(delivered[0]);
    expect(delivered[0]).toMatchObject({ expiresAt: '2026-11-23T01:00:00.000Z', audience: 'cluster/prod-1' });
  });

  it('refuses a v3 record whose value, seal or audience was changed after signing', () => {
    const v3 = newRecord(WireLayout.V3);
    const seal = parseValueSeal(v3.headers[SEAL_HEADER]!)!;
    const sealed = (changes: Partial<ValueSeal>): WireRecord =>
      withHeaders(v3, { [SEAL_HEADER]: formatValueSeal({ ...seal, ...changes }) });
    expect(outcome({ ...v3, value: Buffer.from(v3.value.toString().replace('1.0.0', '6.6.6')) })).toBe('bad-signature');
    expect(outcome({ ...v3, value: Buffer.from(v3.value.toString().replace('T01:00', 'T09:00')) })).toBe(
      'bad-signature',
    );
    expect(outcome(sealed({ keyId: 'k2' }))).toBe('bad-signature');
    // one character in the middle changed (the last ones may carry padding bits a decoder ignores)
    const flipped = seal.signature[10] === 'A' ? 'B' : 'A';
    const tampered = `${seal.signature.slice(0, 10)}${flipped}${seal.signature.slice(11)}`;
    expect(outcome(sealed({ signature: tampered }))).toBe('bad-signature');
    expect(outcome(sealed({ keyId: 'k9' }))).toBe('unknown-key');
    expect(outcome(withHeaders(v3, { [SEAL_HEADER]: `${seal.signature};` }))).toBe('invalid-envelope');
    const { [SEAL_HEADER]: _seal, ...unsigned } = v3.headers;
    expect(outcome({ ...v3, headers: unsigned })).toBe('unsigned');
    // the routing copy must be the signed audience: a copy pointing elsewhere, or none, is refused, not trusted
    const misrouted = newRecord(WireLayout.V3, 'cluster/other', 'cluster/prod-1');
    const misroutedSeal = parseValueSeal(misrouted.headers[SEAL_HEADER]!)!;
    for (const audience of ['cluster/prod-1', undefined])
      expect(outcome(withHeaders(misrouted, { [SEAL_HEADER]: formatValueSeal({ ...misroutedSeal, audience }) }))).toBe(
        'invalid-envelope',
      );
  });

  it('runs the same checks as v1 after the signature: expiry, audience, type, event shape and data', () => {
    expect(outcome(newRecord(WireLayout.V3), { ...inspect, nowMs: NOW + 3_600_000 + 31_000 })).toBe('expired');
    // a command for another cluster replayed on this cluster's key
    expect(outcome(newRecord(WireLayout.V3, 'cluster/a', 'cluster/prod-1'))).toBe('wrong-audience');
    expect(outcome(newRecord(WireLayout.V3), { ...inspect, types: [MessageType.ClusterDesiredState] })).toBe('skip');
    const v3 = newRecord(WireLayout.V3);
    expect(outcome(resealed(v3, (e) => (e['type'] = 'io.example.unknown.v1')))).toBe('unknown-type');
    expect(outcome(resealed(v3, (e) => (e['data'] = { source: 'agent-1' })))).toBe('invalid-data');
    for (const edit of [
      (e: Record<string, unknown>) => delete e['type'],
      (e: Record<string, unknown>) => delete e['data'],
      (e: Record<string, unknown>) => (e['specversion'] = '0.3'),
      (e: Record<string, unknown>) => (e['expiry'] = 'tomorrow'),
      (e: Record<string, unknown>) => (e['datacontenttype'] = 'text/plain'),
    ])
      expect(outcome(resealed(v3, edit))).toBe('invalid-envelope');
    expect(outcome(sealEvent({ ...v3, value: Buffer.from('[1, 2') }, signer, 'cluster/prod-1'))).toBe(
      'invalid-envelope',
    );
    expect(
      inspectRecord(
        resealed(v3, (e) => delete e['type']),
        position,
        inspect,
      ),
    ).toMatchObject({
      detail: expect.stringContaining('type'),
    });
  });

  it("skips another target's v3 traffic on the seal's routing copy, before any crypto or parsing", () => {
    const forOther = newRecord(WireLayout.V3, 'cluster/other', 'cluster/other');
    const seal = parseValueSeal(forOther.headers[SEAL_HEADER]!)!;
    const forged = formatValueSeal({ ...seal, signature: 'v1=forged' });
    expect(
      outcome({
        ...forOther,
        value: Buffer.from('not even JSON'),
        headers: { ...forOther.headers, [SEAL_HEADER]: forged },
      }),
    ).toBe('skip');
  });

  it('never verifies a v2 signature as v3 (each layout signs under its own tag)', () => {
    const v2 = newRecord(WireLayout.V2);
    const v3 = newRecord(WireLayout.V3);
    const v2Seal = parseSeal(v2.headers[SEAL_HEADER]!)!;
    const v3Seal = parseValueSeal(v3.headers[SEAL_HEADER]!)!;
    const v2SignatureOnV3 = formatValueSeal({ ...v3Seal, keyId: v2Seal.keyId, signature: v2Seal.signature });
    expect(outcome(withHeaders(v3, { [SEAL_HEADER]: v2SignatureOnV3 }))).toBe('bad-signature');
    // a v3 record relabelled as binary mode is no v1 or v2 record either
    expect(outcome(withHeaders(v3, { [Header.ContentType]: 'application/json' }))).toBe('invalid-envelope');
  });

  it('reads key ids and audiences holding the separator or the escape, and nothing from a seal missing a part', () => {
    for (const seal of [
      { signature: 'v1=abc', keyId: 'fleet;2026', audience: 'cluster/a;b%3B' },
      { signature: 'v1=abc', keyId: '%25;%' },
    ])
      expect(parseValueSeal(formatValueSeal(seal))).toEqual(seal);
    for (const text of ['', 'v1=abc', ';k1', 'v1=abc;', 'v1=abc;k1;', 'v1=abc;k1;a;b'])
      expect(parseValueSeal(text)).toBeUndefined();
  });
});
