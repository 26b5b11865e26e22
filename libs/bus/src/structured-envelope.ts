import { randomUUID } from 'node:crypto';
import { Timestamp } from '@meshwave/contracts';
import { z } from 'zod';
import { isoTime, timestampMs } from './envelope-time.js';
import type { OutgoingMessage } from './event-bus.js';
import type { MessageSigner } from './signing.js';
import {
  formatValueSeal,
  Header,
  parseValueSeal,
  SEAL_HEADER,
  STRUCTURED_CONTENT_TYPE,
  type ValueSeal,
  type WireRecord,
} from './wire-layout.js';

// Wire layout v3 (ADR 0026): CloudEvents structured content mode. The value is the event in the CloudEvents JSON
// format, attributes and data together; the headers are the structured-mode `content-type`, `mw_sig` (the seal
// and a routing copy of the signed `audience`, so that other targets' traffic is skipped before any crypto or
// parsing, as in v1 and v2) and the trace context. kafkajs spends ~3 µs per header and message; v3 sends 2
// headers where v2 sends 6 or 7 and v1 10.

/** The event a v3 value holds. `datacontenttype` is implied (`application/json`) and not written. */
export const StructuredEvent = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  type: z.string().min(1),
  source: z.string().min(1),
  time: Timestamp,
  datacontenttype: z.literal('application/json').optional(),
  /** CloudEvents extension attributes, as in v1 */
  audience: z.string().min(1).optional(),
  expiry: Timestamp,
  data: z.unknown().refine((d) => d !== undefined, 'the event has no data'),
});
export type StructuredEvent = z.infer<typeof StructuredEvent>;

/**
 * What the v3 signature covers besides the value bytes: the layout's domain tag (a v1 or v2 signature never
 * verifies as v3) and the key id. Every CloudEvents attribute is inside the value, so it is covered as it travels.
 */
const signedAttributes = (keyId: string): string[] => ['meshwave-envelope-v3', keyId];

/** The v3 record of a message whose data was validated. */
export function structuredRecord(
  message: OutgoingMessage,
  data: unknown,
  ctx: {
    readonly source: string;
    readonly nowMs: number;
    readonly expiry: string;
    readonly signer: MessageSigner;
    readonly trace: { readonly traceparent?: string; readonly tracestate?: string };
  },
): WireRecord {
  // Attributes first, data last, in one object: one JSON.stringify for the whole value.
  const event: Record<string, unknown> = {
    specversion: '1.0',
    id: randomUUID(),
    type: message.type,
    source: ctx.source,
    time: isoTime(ctx.nowMs),
  };
  if (message.audience !== undefined) event['audience'] = message.audience;
  event['expiry'] = ctx.expiry;
  event['data'] = data;
  const value = Buffer.from(JSON.stringify(event), 'utf8');
  const headers: Record<string, string> = { [Header.ContentType]: STRUCTURED_CONTENT_TYPE };
  if (ctx.trace.traceparent !== undefined) headers[Header.Traceparent] = ctx.trace.traceparent;
  if (ctx.trace.tracestate !== undefined) headers[Header.Tracestate] = ctx.trace.tracestate;
  const keyId = ctx.signer.activeKeyId;
  const signature = ctx.signer.sign(signedAttributes(keyId), value);
  headers[SEAL_HEADER] = formatValueSeal({ signature, keyId, audience: message.audience });
  return { key: message.key, value, headers };
}

/** Why a record is refused, as the DLQ records it. */
export interface Refusal {
  readonly kind: 'reject';
  readonly reason: 'unsigned' | 'invalid-envelope' | 'unknown-key' | 'bad-signature';
  readonly detail: string;
}

const refuse = (reason: Refusal['reason'], detail: string): Refusal => ({ kind: 'reject', reason, detail });

/** A v3 record's `mw_sig`, read once: for routing before any crypto, then for the signature. */
export type SealReading = ValueSeal | 'missing' | 'malformed';

export function readValueSeal(headers: WireRecord['headers']): SealReading {
  const text = headers[SEAL_HEADER];
  if (text === undefined) return 'missing';
  return parseValueSeal(text) ?? 'malformed';
}

/**
 * A v3 record's event, once its seal verified: signature first (nothing unauthenticated is parsed), then the
 * event's shape; the routing copy of the audience must equal the signed one. Or why it is refused.
 */
export function openStructured(
  record: WireRecord,
  seal: SealReading,
  signer: MessageSigner,
): { readonly event: StructuredEvent; readonly keyId: string } | Refusal {
  if (seal === 'missing') return refuse('unsigned', 'no signature header');
  if (seal === 'malformed') return refuse('invalid-envelope', `malformed ${SEAL_HEADER} header`);
  const outcome = signer.verify(seal.keyId, seal.signature, signedAttributes(seal.keyId), record.value);
  if (outcome === 'unknown-key') return refuse('unknown-key', `signed with unknown key "${seal.keyId}"`);
  if (outcome === 'bad-signature') return refuse('bad-signature', 'signature does not match the content');
  let json: unknown;
  try {
    json = JSON.parse(record.value.toString('utf8'));
  } catch (error) {
    return refuse('invalid-envelope', `value is not a JSON event: ${(error as Error).message}`);
  }
  let event: StructuredEvent;
  if (isWellFormedEvent(json)) event = json;
  else {
    // Only a malformed event gets here: zod says what is wrong with it.
    const parsed = StructuredEvent.safeParse(json);
    if (!parsed.success) return refuse('invalid-envelope', z.prettifyError(parsed.error));
    event = parsed.data;
  }
  if (event.audience !== seal.audience)
    return refuse(
      'invalid-envelope',
      `the audience in ${SEAL_HEADER} ("${seal.audience ?? ''}") is not the signed audience ("${event.audience ?? ''}")`,
    );
  return { event, keyId: seal.keyId };
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * The checks of `StructuredEvent`, written out (zod's object parser on every record costs more than the rest of
 * the envelope work): an event that passes them passes the schema too (the times go through `Timestamp`).
 */
function isWellFormedEvent(json: unknown): json is StructuredEvent {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return false;
  const e = json as Record<string, unknown>;
  return (
    e['specversion'] === '1.0' &&
    isText(e['id']) &&
    isText(e['type']) &&
    isText(e['source']) &&
    (e['datacontenttype'] === undefined || e['datacontenttype'] === 'application/json') &&
    (e['audience'] === undefined || isText(e['audience'])) &&
    e['data'] !== undefined &&
    timestampMs(e['time']) !== undefined &&
    timestampMs(e['expiry']) !== undefined
  );
}

/**
 * Signs a v3 record's value with the signer's active key (replacing any seal), with `audience` as the routing
 * copy: for tools and tests that build an event by hand, as `sealRecord` does for v1.
 */
export function sealEvent(record: WireRecord, signer: MessageSigner, audience?: string): WireRecord {
  const keyId = signer.activeKeyId;
  const signature = signer.sign(signedAttributes(keyId), record.value);
  const seal = formatValueSeal({ signature, keyId, audience });
  return { ...record, headers: { ...record.headers, [SEAL_HEADER]: seal } };
}
