import { randomUUID } from 'node:crypto';
import { MessageSchemas, Timestamp, type MessageType } from '@meshwave/contracts';
import { z } from 'zod';
import type { DeadLetter, DeadLetterReason, IncomingMessage, IncomingMessageOf, OutgoingMessage } from './event-bus.js';
import { BusError, BusErrorCode } from './errors.js';
import type { MessageSigner } from './signing.js';
import { formatSeal, parseSeal, SEAL_HEADER, WireLayout } from './wire-layout.js';

/** A record as it travels: Kafka key, value bytes and string headers. Both bus implementations carry exactly this. */
export interface WireRecord {
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/** Header names. CloudEvents binary content mode (Kafka protocol binding): attributes are `ce_`-prefixed headers. */
export const Header = {
  SpecVersion: 'ce_specversion',
  Id: 'ce_id',
  Type: 'ce_type',
  Source: 'ce_source',
  Time: 'ce_time',
  ContentType: 'content-type',
  /** CloudEvents extension attributes (lowercase alphanumerics, as the spec requires) */
  Audience: 'ce_audience',
  Expiry: 'ce_expiry',
  Traceparent: 'traceparent',
  Tracestate: 'tracestate',
  KeyId: 'mw_key_id',
  Signature: 'mw_signature',
  /** added to DLQ records */
  DlqReason: 'mw_dlq_reason',
  DlqDetail: 'mw_dlq_detail',
  DlqTopic: 'mw_dlq_topic',
  DlqPartition: 'mw_dlq_partition',
  DlqOffset: 'mw_dlq_offset',
  DlqGroup: 'mw_dlq_group',
  DlqAt: 'mw_dlq_at',
} as const;

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
  /** the header layout to write (ADR 0021); default v1 */
  readonly wireLayout?: WireLayout;
}

/** Validates `data` against the schema of its type, then builds the signed record. Throws `BusError` on invalid data. */
export function encodeEnvelope(message: OutgoingMessage, ctx: EncodeContext): WireRecord {
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
  const value = Buffer.from(JSON.stringify(parsed.data), 'utf8');
  const ttl = message.ttlSeconds ?? ctx.defaultTtlSeconds;
  // Built once, in wire order, with the signature last: no copy and no `delete` (which would turn the object
  // into a slow dictionary that kafkajs then walks) as sealRecord needs for a record it did not build.
  const headers = contextHeaders(message, ctx);
  const keyId = ctx.signer.activeKeyId;
  const expiry = isoTime(ctx.nowMs + ttl * 1000);
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

/** The CloudEvents context attributes and the trace context: the headers both layouts start with. */
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

/**
 * RFC 3339 of a time in ms. The messages of one publish share `nowMs` (and mostly their expiry), so the last
 * few results are kept: formatting a Date costs more than the rest of the header building.
 */
const isoCache = new Map<number, string>();
function isoTime(ms: number): string {
  let iso = isoCache.get(ms);
  if (iso === undefined) {
    if (isoCache.size >= 8) isoCache.clear();
    iso = new Date(ms).toISOString();
    isoCache.set(ms, iso);
  }
  return iso;
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

const reject = (reason: DeadLetterReason, detail: string): Verdict => ({ kind: 'reject', reason, detail });

/**
 * Routing, verification and validation of one consumed record, in this order: another target's traffic is
 * skipped before any crypto (it is not ours to judge, its own consumer will), then signature, expiry, audience,
 * type filter and data schema.
 */
export function inspectRecord(record: WireRecord, position: RecordPosition, ctx: InspectContext): Verdict {
  const h = record.headers;
  const audience = h[Header.Audience];
  const mine = ctx.audiences;
  if (mine !== undefined && audience !== undefined && !mine.includes(audience) && !mine.includes(record.key)) {
    return { kind: 'skip', why: 'not-addressed' };
  }
  const read = readEnvelope(h);
  if ('reason' in read) return read;
  const e = read.envelope;
  const outcome = ctx.signer.verify(e[Header.KeyId], e[Header.Signature], read.attributes, record.value);
  if (outcome === 'unknown-key') return reject('unknown-key', `signed with unknown key "${e[Header.KeyId]}"`);
  if (outcome === 'bad-signature') return reject('bad-signature', 'signature does not match the content');
  // Always a number here (checked above); a record without one would count as expired.
  const expiresMs = timestampMs(e[Header.Expiry]) ?? Number.NEGATIVE_INFINITY;
  if (ctx.nowMs > expiresMs + ctx.clockSkewMs) return reject('expired', `expired at ${e[Header.Expiry]}`);
  if (mine !== undefined && audience !== undefined && !mine.includes(audience)) {
    return reject(
      'wrong-audience',
      `addressed to "${audience}", routed with key "${record.key}" to ${mine.join(', ')}`,
    );
  }
  const type = e[Header.Type];
  if (ctx.types !== undefined && !ctx.types.includes(type as MessageType))
    return { kind: 'skip', why: 'type-filtered' };
  const schema = (MessageSchemas as Record<string, z.ZodType>)[type];
  if (schema === undefined) return reject('unknown-type', `unknown message type "${type}"`);
  let json: unknown;
  try {
    json = JSON.parse(record.value.toString('utf8'));
  } catch (error) {
    return reject('invalid-data', `value is not JSON: ${(error as Error).message}`);
  }
  const data = schema.safeParse(json);
  if (!data.success) return reject('invalid-data', z.prettifyError(data.error));
  const message: Mutable<IncomingMessageOf<MessageType>> = {
    id: e[Header.Id],
    type: type as MessageType,
    source: e[Header.Source],
    time: e[Header.Time],
    key: record.key,
    data: data.data as IncomingMessageOf<MessageType>['data'],
    partition: position.partition,
    offset: position.offset,
    expiresAt: e[Header.Expiry],
  };
  if (audience !== undefined) message.audience = audience;
  const traceparent = e[Header.Traceparent];
  if (traceparent !== undefined) message.traceparent = traceparent;
  const tracestate = e[Header.Tracestate];
  if (tracestate !== undefined) message.tracestate = tracestate;
  // The schema of `type` validated `data` above: the one place the wide shape becomes the discriminated union.
  return { kind: 'deliver', message: message as IncomingMessage };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The envelope's headers in the v1 shape, whichever layout the record came in (ADR 0021: consumers read both),
 * with the attributes its signature must cover; or why it is refused.
 */
function readEnvelope(
  wire: Readonly<Record<string, string | undefined>>,
): { readonly envelope: EnvelopeHeaders; readonly attributes: string[] } | Extract<Verdict, { kind: 'reject' }> {
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

/**
 * The ms of an RFC 3339 time that `Timestamp` accepts, else undefined. The records of one publish share their
 * `time` and usually their `expiry`, so the last few answers are kept (the check is a pure function of the text).
 */
const timestampCache = new Map<string, number | undefined>();
function timestampMs(text: string | undefined): number | undefined {
  if (typeof text !== 'string') return undefined;
  if (timestampCache.has(text)) return timestampCache.get(text);
  const ms = Timestamp.safeParse(text).success ? Date.parse(text) : undefined;
  if (timestampCache.size >= 16) timestampCache.clear();
  timestampCache.set(text, ms);
  return ms;
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
