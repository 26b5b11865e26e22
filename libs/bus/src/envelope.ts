import { randomUUID } from 'node:crypto';
import { MessageSchemas, Timestamp, type MessageType } from '@meshwave/contracts';
import { z } from 'zod';
import type { DeadLetter, DeadLetterReason, IncomingMessage, IncomingMessageOf, OutgoingMessage } from './event-bus.js';
import { BusError, BusErrorCode } from './errors.js';
import type { MessageSigner } from './signing.js';
import { wrongSigner } from './signer-check.js';
import { isoTime, timestampMs } from './envelope-time.js';
import { openStructured, readValueSeal, structuredRecord, type SealReading } from './structured-envelope.js';
import {
  formatSeal,
  Header,
  parseSeal,
  SEAL_HEADER,
  STRUCTURED_CONTENT_TYPE,
  WireLayout,
  type WireRecord,
} from './wire-layout.js';

export { Header, type WireRecord } from './wire-layout.js';

const CONTENT_TYPE = 'application/json';

/** The headers of a meshwave envelope, validated on both sides. */
export const EnvelopeHeaders = z.object({
  [Header.SpecVersion]: z.literal('1.0'),
  [Header.Id]: z.string().min(1),
  [Header.Type]: z.string().min(1),
  [Header.Source]: z.string().min(1),
  [Header.Time]: Timestamp,
  [Header.ContentType]: z.literal(CONTENT_TYPE),
  [Header.Audience]: z.string().min(1).optional(),
  [Header.Expiry]: Timestamp,
  [Header.Traceparent]: z.string().optional(),
  [Header.Tracestate]: z.string().optional(),
  [Header.KeyId]: z.string().min(1),
  [Header.Signature]: z.string().min(1),
});
export type EnvelopeHeaders = z.infer<typeof EnvelopeHeaders>;

/**
 * What the signature covers, in order. The Kafka key and the trace headers are deliberately not covered: the
 * key only routes (the signed audience says who may act), and tracing may be rewritten by intermediaries.
 */
function signedAttributes(h: Readonly<Record<string, string | undefined>>, layout: WireLayout = 'v1'): string[] {
  return attributeList(layout, h, h[Header.ContentType] ?? '', h[Header.Expiry] ?? '', h[Header.KeyId] ?? '');
}

/** The signed attributes, with the three that v2 does not carry as headers of their own given apart. */
function attributeList(
  layout: WireLayout,
  h: Readonly<Record<string, string | undefined>>,
  contentType: string,
  expiry: string,
  keyId: string,
): string[] {
  return [
    layout === WireLayout.V2 ? 'meshwave-envelope-v2' : 'meshwave-envelope-v1',
    h[Header.SpecVersion] ?? '',
    h[Header.Id] ?? '',
    h[Header.Type] ?? '',
    h[Header.Source] ?? '',
    h[Header.Time] ?? '',
    contentType,
    h[Header.Audience] ?? '',
    expiry,
    keyId,
  ];
}

export interface EncodeContext {
  readonly source: string;
  readonly nowMs: number;
  readonly defaultTtlSeconds: number;
  readonly signer: MessageSigner;
  readonly trace: { readonly traceparent?: string; readonly tracestate?: string };
  /** the wire layout to write (ADR 0021, 0026); default v1 */
  readonly wireLayout?: WireLayout;
}

/** Validates `data` against the schema of its type, then builds the signed record. Throws `BusError` on invalid data. */
export function encodeEnvelope(message: OutgoingMessage, ctx: EncodeContext): WireRecord {
  return encodeValidated(message, validatedData(message), ctx);
}

/** `message`'s data as the schema of its type reads it. Throws `BusError` on an unknown type or invalid data. */
export function validatedData(message: OutgoingMessage): unknown {
  const schema = (MessageSchemas as Record<string, z.ZodType>)[message.type];
  if (schema === undefined) {
    throw new BusError(BusErrorCode.InvalidMessage, `unknown message type "${message.type}"`, {
      context: { type: message.type },
    });
  }
  const parsed = schema.safeParse(message.data);
  if (!parsed.success) {
    throw new BusError(
      BusErrorCode.InvalidMessage,
      `message of type ${message.type} is invalid: ${z.prettifyError(parsed.error)}`,
      {
        context: { type: message.type, key: message.key },
        cause: parsed.error,
      },
    );
  }
  return parsed.data;
}

/** The signed record of `message` with `data`, what `validatedData` gave for it. */
export function encodeValidated(message: OutgoingMessage, data: unknown, ctx: EncodeContext): WireRecord {
  const expiry = isoTime(ctx.nowMs + (message.ttlSeconds ?? ctx.defaultTtlSeconds) * 1000);
  if (ctx.wireLayout === WireLayout.V3) return structuredRecord(message, data, { ...ctx, expiry });
  const value = Buffer.from(JSON.stringify(data), 'utf8');
  // Built once, in wire order, with the signature last: no copy and no `delete` (which would turn the object
  // into a slow dictionary that kafkajs then walks) as sealRecord needs for a record it did not build.
  const headers = contextHeaders(message, ctx);
  const keyId = ctx.signer.activeKeyId;
  if (ctx.wireLayout === WireLayout.V2) {
    // ADR 0021: the same attributes signed as in v1, under the v2 tag; expiry and key id travel in `mw_sig`.
    const attributes = attributeList(WireLayout.V2, headers, CONTENT_TYPE, expiry, keyId);
    headers[SEAL_HEADER] = formatSeal({ keyId, expiry, signature: ctx.signer.sign(attributes, value) });
    return { key: message.key, value, headers };
  }
  headers[Header.ContentType] = CONTENT_TYPE;
  headers[Header.Expiry] = expiry;
  headers[Header.KeyId] = keyId;
  headers[Header.Signature] = ctx.signer.sign(signedAttributes(headers), value);
  return { key: message.key, value, headers };
}

/** The CloudEvents context attributes and the trace context: the headers both binary layouts start with. */
function contextHeaders(message: OutgoingMessage, ctx: EncodeContext): Record<string, string> {
  const headers: Record<string, string> = {
    [Header.SpecVersion]: '1.0',
    [Header.Id]: randomUUID(),
    [Header.Type]: message.type,
    [Header.Source]: ctx.source,
    [Header.Time]: isoTime(ctx.nowMs),
  };
  if (message.audience !== undefined) headers[Header.Audience] = message.audience;
  if (ctx.trace.traceparent !== undefined) headers[Header.Traceparent] = ctx.trace.traceparent;
  if (ctx.trace.tracestate !== undefined) headers[Header.Tracestate] = ctx.trace.tracestate;
  return headers;
}

/** Signs a record with the signer's active key (sets the key id and signature headers, replacing any). */
export function sealRecord(record: WireRecord, signer: MessageSigner): WireRecord {
  const headers: Record<string, string> = { ...record.headers, [Header.KeyId]: signer.activeKeyId };
  delete headers[Header.Signature];
  headers[Header.Signature] = signer.sign(signedAttributes(headers), record.value);
  return { key: record.key, value: record.value, headers };
}

/** Where a record was read. */
export interface RecordPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export interface InspectContext {
  readonly signer: MessageSigner;
  readonly nowMs: number;
  /** tolerated clock difference between producer and consumer when judging expiry */
  readonly clockSkewMs: number;
  readonly audiences?: readonly string[];
  readonly types?: readonly MessageType[];
}

/** What to do with a record: hand it over, acknowledge and skip it, or refuse it to the DLQ. */
export type Verdict =
  | { readonly kind: 'deliver'; readonly message: IncomingMessage }
  | { readonly kind: 'skip'; readonly why: 'not-addressed' | 'type-filtered' }
  | { readonly kind: 'reject'; readonly reason: DeadLetterReason; readonly detail: string };

const reject = (reason: DeadLetterReason, detail: string): Extract<Verdict, { kind: 'reject' }> => ({
  kind: 'reject',
  reason,
  detail,
});

/**
 * Routing, verification and validation of one consumed record, in this order: another target's traffic is
 * skipped before any crypto (it is not ours to judge, its own consumer will), then signature, expiry, audience,
 * type filter and data schema. Every layout is read (ADR 0021, 0026): a fleet mid-upgrade mixes them.
 */
export function inspectRecord(record: WireRecord, position: RecordPosition, ctx: InspectContext): Verdict {
  const h = record.headers;
  const mine = ctx.audiences;
  // v3 carries the routing copy of its signed audience in its seal; openStructured refuses a record where they differ.
  const seal = h[Header.ContentType] === STRUCTURED_CONTENT_TYPE ? readValueSeal(h) : undefined;
  const routedTo = seal === undefined ? h[Header.Audience] : typeof seal === 'string' ? undefined : seal.audience;
  if (mine !== undefined && routedTo !== undefined && !mine.includes(routedTo) && !mine.includes(record.key)) {
    return { kind: 'skip', why: 'not-addressed' };
  }
  const e = seal === undefined ? openBinary(record, ctx.signer) : openEvent(record, seal, ctx.signer);
  if ('reason' in e) return e;
  // Always a number here (checked when opened); a record without one would count as expired.
  const expiresMs = timestampMs(e.expiry) ?? Number.NEGATIVE_INFINITY;
  if (ctx.nowMs > expiresMs + ctx.clockSkewMs) return reject('expired', `expired at ${e.expiry}`);
  const audience = e.audience;
  if (mine !== undefined && audience !== undefined && !mine.includes(audience)) {
    return reject(
      'wrong-audience',
      `addressed to "${audience}", routed with key "${record.key}" to ${mine.join(', ')}`,
    );
  }
  const type = e.type;
  if (ctx.types !== undefined && !ctx.types.includes(type as MessageType))
    return { kind: 'skip', why: 'type-filtered' };
  const schema = (MessageSchemas as Record<string, z.ZodType>)[type];
  if (schema === undefined) return reject('unknown-type', `unknown message type "${type}"`);
  let json: unknown;
  if (e.data !== undefined) json = e.data.json;
  else {
    try {
      json = JSON.parse(record.value.toString('utf8'));
    } catch (error) {
      return reject('invalid-data', `value is not JSON: ${(error as Error).message}`);
    }
  }
  const data = schema.safeParse(json);
  if (!data.success) return reject('invalid-data', z.prettifyError(data.error));
  const signedBy = wrongSigner(ctx.signer, e.keyId, e.source, type as MessageType, data.data);
  if (signedBy !== undefined) return reject('wrong-signer', signedBy);
  const message: Mutable<IncomingMessageOf<MessageType>> = {
    id: e.id,
    type: type as MessageType,
    source: e.source,
    time: e.time,
    key: record.key,
    data: data.data as IncomingMessageOf<MessageType>['data'],
    partition: position.partition,
    offset: position.offset,
    expiresAt: e.expiry,
  };
  if (audience !== undefined) message.audience = audience;
  const traceparent = h[Header.Traceparent];
  if (traceparent !== undefined) message.traceparent = traceparent;
  const tracestate = h[Header.Tracestate];
  if (tracestate !== undefined) message.tracestate = tracestate;
  // The schema of `type` validated `data` above: the one place the wide shape becomes the discriminated union.
  return { kind: 'deliver', message: message as IncomingMessage };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Rejection = Extract<Verdict, { kind: 'reject' }>;

/** The attributes of a record whose signature held, whichever layout it came in. */
interface OpenedEnvelope {
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly time: string;
  readonly expiry: string;
  readonly audience: string | undefined;
  readonly keyId: string;
  /** v3: the data, parsed with the event; v1 and v2: undefined (the value is the data, parsed when needed) */
  readonly data?: { readonly json: unknown };
}

/** A v3 (structured) record, opened. */
function openEvent(record: WireRecord, seal: SealReading, signer: MessageSigner): OpenedEnvelope | Rejection {
  const opened = openStructured(record, seal, signer);
  if ('reason' in opened) return opened;
  const { id, type, source, time, expiry, audience, data } = opened.event;
  return { id, type, source, time, expiry, audience, keyId: opened.keyId, data: { json: data } };
}

/** A v1 or v2 (binary) record: its envelope headers checked, then its signature. */
function openBinary(record: WireRecord, signer: MessageSigner): OpenedEnvelope | Rejection {
  const read = readEnvelope(record.headers);
  if ('reason' in read) return read;
  const e = read.envelope;
  const outcome = signer.verify(e[Header.KeyId], e[Header.Signature], read.attributes, record.value);
  if (outcome === 'unknown-key') return reject('unknown-key', `signed with unknown key "${e[Header.KeyId]}"`);
  if (outcome === 'bad-signature') return reject('bad-signature', 'signature does not match the content');
  return {
    id: e[Header.Id],
    type: e[Header.Type],
    source: e[Header.Source],
    time: e[Header.Time],
    expiry: e[Header.Expiry],
    audience: e[Header.Audience],
    keyId: e[Header.KeyId],
  };
}

/**
 * The envelope's headers in the v1 shape, whichever binary layout the record came in (v1 or v2, ADR 0021),
 * with the attributes its signature must cover; or why it is refused.
 */
function readEnvelope(
  wire: Readonly<Record<string, string | undefined>>,
): { readonly envelope: EnvelopeHeaders; readonly attributes: string[] } | Rejection {
  let h = wire;
  let layout: WireLayout = WireLayout.V1;
  const sealText = wire[SEAL_HEADER];
  if (sealText !== undefined) {
    const seal = parseSeal(sealText);
    if (seal === undefined)
      return { kind: 'reject', reason: 'invalid-envelope', detail: `malformed ${SEAL_HEADER} header` };
    layout = WireLayout.V2;
    h = {
      ...wire,
      [Header.ContentType]: CONTENT_TYPE,
      [Header.Expiry]: seal.expiry,
      [Header.KeyId]: seal.keyId,
      [Header.Signature]: seal.signature,
    };
  } else if (wire[Header.Signature] === undefined || wire[Header.KeyId] === undefined) {
    return { kind: 'reject', reason: 'unsigned', detail: 'no signature header' };
  }
  if (isWellFormedEnvelope(h)) return { envelope: h, attributes: signedAttributes(h, layout) };
  // Only a malformed envelope gets here: zod says what is wrong with it.
  const envelope = EnvelopeHeaders.safeParse(h);
  if (!envelope.success) return { kind: 'reject', reason: 'invalid-envelope', detail: z.prettifyError(envelope.error) };
  return { envelope: envelope.data, attributes: signedAttributes(h, layout) };
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isOptionalText = (v: unknown): boolean => v === undefined || isText(v);
const isOptionalString = (v: unknown): boolean => v === undefined || typeof v === 'string';

/**
 * The checks of `EnvelopeHeaders`, written out: a record that passes them passes the schema too (the
 * timestamps go through the very same `Timestamp` schema). Running zod's object parser on every record cost
 * more than the rest of the header work, so the schema runs only for records that fail here, to explain why.
 */
function isWellFormedEnvelope(h: Readonly<Record<string, string | undefined>>): h is EnvelopeHeaders {
  return (
    h[Header.SpecVersion] === '1.0' &&
    isText(h[Header.Id]) &&
    isText(h[Header.Type]) &&
    isText(h[Header.Source]) &&
    h[Header.ContentType] === CONTENT_TYPE &&
    isOptionalText(h[Header.Audience]) &&
    isOptionalString(h[Header.Traceparent]) &&
    isOptionalString(h[Header.Tracestate]) &&
    isText(h[Header.KeyId]) &&
    isText(h[Header.Signature]) &&
    timestampMs(h[Header.Time]) !== undefined &&
    timestampMs(h[Header.Expiry]) !== undefined
  );
}

/** The DLQ record for a refused one: original key, value and headers, plus why and where. */
export function deadLetterRecord(
  record: WireRecord,
  position: RecordPosition,
  groupId: string,
  reason: DeadLetterReason,
  detail: string,
  nowMs: number,
): WireRecord {
  return {
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      [Header.DlqReason]: reason,
      [Header.DlqDetail]: detail,
      [Header.DlqTopic]: position.topic,
      [Header.DlqPartition]: String(position.partition),
      [Header.DlqOffset]: position.offset,
      [Header.DlqGroup]: groupId,
      [Header.DlqAt]: new Date(nowMs).toISOString(),
    },
  };
}

const DLQ_HEADERS = new Set<string>([
  Header.DlqReason,
  Header.DlqDetail,
  Header.DlqTopic,
  Header.DlqPartition,
  Header.DlqOffset,
  Header.DlqGroup,
  Header.DlqAt,
]);

/** Reads a DLQ record back. */
export function decodeDeadLetter(record: WireRecord): DeadLetter {
  const h = record.headers;
  const original: Record<string, string> = {};
  for (const [name, value] of Object.entries(h)) if (!DLQ_HEADERS.has(name)) original[name] = value;
  return {
    reason: (h[Header.DlqReason] ?? 'invalid-envelope') as DeadLetterReason,
    detail: h[Header.DlqDetail] ?? '',
    topic: h[Header.DlqTopic] ?? '',
    partition: Number(h[Header.DlqPartition] ?? -1),
    offset: h[Header.DlqOffset] ?? '',
    groupId: h[Header.DlqGroup] ?? '',
    key: record.key,
    headers: original,
    value: record.value.toString('utf8'),
    at: h[Header.DlqAt] ?? '',
  };
}
