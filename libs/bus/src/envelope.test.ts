import { MessageType } from '@meshwave/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EnvelopeHeaders, Header, encodeEnvelope, inspectRecord, sealRecord, type WireRecord } from './envelope.js';
import { MessageSigner } from './signing.js';

const signer = new MessageSigner({
  keys: [{ id: 'k1', secret: 'a-fleet-secret-of-at-least-32-bytes!' }],
  activeKeyId: 'k1',
});
const NOW = Date.parse('2026-11-23T00:00:00Z');
const position = { topic: 'meshwave.events', partition: 0, offset: '0' };

function newValidRecord(): WireRecord {
  return encodeEnvelope(
    {
      topic: 'events',
      key: 'agent-1',
      type: MessageType.Heartbeat,
      data: { source: 'agent-1', version: '1.0.0', at: '2026-11-23T00:00:00Z' },
    },
    { source: 'cluster-agent/a', nowMs: NOW, defaultTtlSeconds: 3600, signer, trace: {} },
  );
}

/** Header values that sit on either side of the schema's rules (empty, wrong literal, not RFC 3339). */
const headerValue = fc.constantFrom(
  undefined,
  '',
  '1.0',
  '1.1',
  'application/json',
  'text/plain',
  'x',
  '2026-11-23T00:00:00Z',
  '2026-11-23T00:00:00.000+01:00',
  '2026-11-23 00:00:00',
  '2026-13-40T00:00:00Z',
  'not a time',
);
const envelopeHeader = fc.constantFrom(
  Header.SpecVersion,
  Header.Id,
  Header.Type,
  Header.Source,
  Header.Time,
  Header.ContentType,
  Header.Audience,
  Header.Expiry,
  Header.Traceparent,
  Header.Tracestate,
  Header.KeyId,
);

describe('inspectRecord', () => {
  it('refuses exactly the records whose headers the EnvelopeHeaders schema refuses', () => {
    expect(newValidRecord().headers).toSatisfy((h) => EnvelopeHeaders.safeParse(h).success);
    fc.assert(
      fc.property(fc.array(fc.tuple(envelopeHeader, headerValue), { maxLength: 4 }), (edits) => {
        const headers: Record<string, string> = { ...newValidRecord().headers };
        for (const [name, value] of edits) {
          if (value === undefined) delete headers[name];
          else headers[name] = value;
        }
        const record = headers[Header.KeyId] === undefined ? { ...newValidRecord(), headers } : undefined;
        const sealed = record ?? sealRecord({ ...newValidRecord(), headers }, signer);
        // expiry is judged after the envelope; a valid time far in the past is not what this property is about
        const verdict = inspectRecord(sealed, position, { signer, nowMs: 0, clockSkewMs: 0 });
        const schemaAccepts = EnvelopeHeaders.safeParse(sealed.headers).success;
        const refusedAsEnvelope =
          verdict.kind === 'reject' && (verdict.reason === 'invalid-envelope' || verdict.reason === 'unsigned');
        expect(refusedAsEnvelope).toBe(!schemaAccepts);
        // the type is among the edited headers; any other well-formed record is handed over
        if (schemaAccepts && sealed.headers[Header.Type] === MessageType.Heartbeat)
          expect(verdict.kind).toBe('deliver');
      }),
      { numRuns: 500 },
    );
  });

  it('delivers a record signed and encoded by encodeEnvelope with its attributes', () => {
    const record = newValidRecord();
    const verdict = inspectRecord(record, position, { signer, nowMs: NOW, clockSkewMs: 30_000 });
    expect(verdict).toMatchObject({
      kind: 'deliver',
      message: {
        type: MessageType.Heartbeat,
        source: 'cluster-agent/a',
        time: '2026-11-23T00:00:00.000Z',
        expiresAt: '2026-11-23T01:00:00.000Z',
        key: 'agent-1',
      },
    });
  });
});
