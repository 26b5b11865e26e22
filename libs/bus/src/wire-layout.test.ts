import { MessageType } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { Header, encodeEnvelope, inspectRecord, type WireRecord } from './envelope.js';
import { MessageSigner } from './signing.js';
import { parseSeal, SEAL_HEADER, WireLayout } from './wire-layout.js';

const signer = new MessageSigner({
  keys: [{ id: 'k1', secret: 'a-fleet-secret-of-at-least-32-bytes!' }],
  activeKeyId: 'k1',
});
const NOW = Date.parse('2026-11-23T00:00:00Z');
const position = { topic: 'meshwave.commands', partition: 0, offset: '0' };
const inspect = { signer, nowMs: NOW, clockSkewMs: 30_000, audiences: ['cluster/prod-1'] };

function newRecord(wireLayout: WireLayout): WireRecord {
  return encodeEnvelope(
    {
      topic: 'events',
      key: 'prod-1',
      audience: 'cluster/prod-1',
      type: MessageType.Heartbeat,
      data: { source: 'agent-1', version: '1.0.0', at: '2026-11-23T00:00:00Z' },
    },
    { source: 'planner', nowMs: NOW, defaultTtlSeconds: 3600, signer, trace: {}, wireLayout },
  );
}

function withHeaders(record: WireRecord, headers: Record<string, string>): WireRecord {
  return { ...record, headers: { ...record.headers, ...headers } };
}

describe('wire layout v2 (ADR 0021)', () => {
  it('carries the CloudEvents attributes plus one signature header, and delivers what v1 delivers', () => {
    const v2 = newRecord(WireLayout.V2);
    expect(Object.keys(v2.headers)).toEqual([
      Header.SpecVersion,
      Header.Id,
      Header.Type,
      Header.Source,
      Header.Time,
      Header.Audience,
      SEAL_HEADER,
    ]);
    const a = inspectRecord(v2, position, inspect);
    const b = inspectRecord(newRecord(WireLayout.V1), position, inspect);
    expect(a.kind).toBe('deliver');
    expect(b.kind).toBe('deliver');
    if (a.kind !== 'deliver' || b.kind !== 'deliver') return;
    expect({ ...a.message, id: '' }).toEqual({ ...b.message, id: '' });
    expect(a.message.expiresAt).toBe('2026-11-23T01:00:00.000Z');
  });

  it('a consumer still accepts the old (v1) layout, with its ten headers, during an upgrade', () => {
    const v1 = newRecord(WireLayout.V1);
    expect(v1.headers[Header.Signature]).toMatch(/^v1=/);
    expect(v1.headers[SEAL_HEADER]).toBeUndefined();
    expect(inspectRecord(v1, position, inspect).kind).toBe('deliver');
  });

  it('refuses a v2 record whose value, expiry, source or key id was changed after signing', () => {
    const v2 = newRecord(WireLayout.V2);
    const seal = parseSeal(v2.headers[SEAL_HEADER]!)!;
    const reject = (r: WireRecord): unknown => {
      const v = inspectRecord(r, position, inspect);
      return v.kind === 'reject' ? v.reason : v.kind;
    };
    expect(reject({ ...v2, value: Buffer.from(v2.value.toString().replace('1.0.0', '6.6.6')) })).toBe('bad-signature');
    const later = `${seal.keyId};2027-01-01T00:00:00.000Z;${seal.signature}`;
    expect(reject(withHeaders(v2, { [SEAL_HEADER]: later }))).toBe('bad-signature');
    expect(reject(withHeaders(v2, { [Header.Source]: 'cluster-agent/evil' }))).toBe('bad-signature');
    expect(reject(withHeaders(v2, { [SEAL_HEADER]: `k9;${seal.expiry};${seal.signature}` }))).toBe('unknown-key');
    expect(reject(withHeaders(v2, { [SEAL_HEADER]: 'k1;' }))).toBe('invalid-envelope');
    expect(reject(withHeaders(v2, { [SEAL_HEADER]: `k1;not a time;${seal.signature}` }))).toBe('invalid-envelope');
  });

  it('never verifies a v1 signature as v2, nor a v2 signature as v1 (each layout signs under its own tag)', () => {
    const v1 = newRecord(WireLayout.V1);
    const v2 = newRecord(WireLayout.V2);
    const v1AsV2 = withHeaders(v1, {
      [SEAL_HEADER]: `k1;${v1.headers[Header.Expiry]!};${v1.headers[Header.Signature]!}`,
    });
    const v2Seal = parseSeal(v2.headers[SEAL_HEADER]!)!;
    const { [SEAL_HEADER]: _dropped, ...v2Plain } = v2.headers;
    const v2AsV1: WireRecord = {
      ...v2,
      headers: {
        ...v2Plain,
        [Header.ContentType]: 'application/json',
        [Header.Expiry]: v2Seal.expiry,
        [Header.KeyId]: v2Seal.keyId,
        [Header.Signature]: v2Seal.signature,
      },
    };
    expect(inspectRecord(v1AsV2, position, inspect)).toMatchObject({ kind: 'reject', reason: 'bad-signature' });
    expect(inspectRecord(v2AsV1, position, inspect)).toMatchObject({ kind: 'reject', reason: 'bad-signature' });
  });

  it('reads a key id holding the separator, and nothing from a seal missing a part', () => {
    expect(parseSeal('fleet;2026;2027-01-01T00:00:00Z;v1=abc')).toEqual({
      keyId: 'fleet;2026',
      expiry: '2027-01-01T00:00:00Z',
      signature: 'v1=abc',
    });
    for (const text of ['', 'v1=abc', ';2027-01-01T00:00:00Z;v1=abc', 'k1;;v1=abc', 'k1;2027-01-01T00:00:00Z;'])
      expect(parseSeal(text)).toBeUndefined();
  });
});
