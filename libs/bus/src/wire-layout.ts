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

/**
 * The layouts of a meshwave envelope on the wire (ADR 0021, ADR 0026). They differ in where the attributes travel:
 * - v1 (until 0021): CloudEvents binary mode, ten headers; `content-type`, `ce_expiry`, `mw_key_id` and
 *   `mw_signature` each on its own.
 * - v2 (0021): binary mode, the CloudEvents context attributes (`ce_specversion`, `ce_id`, `ce_type`,
 *   `ce_source`, `ce_time`, `ce_audience` when addressed) plus ONE meshwave header, `mw_sig` =
 *   `<key id>;<expiry>;<signature>`. The signature covers the same attributes as v1 under its own domain tag.
 * - v3 (0026): CloudEvents structured mode: the attributes and the data in the value (JSON event format),
 *   `content-type: application/cloudevents+json`, and `mw_sig` = `<signature>;<key id>[;<audience>]`: the
 *   signature over the value bytes, and an unsigned routing copy of the signed audience (other targets' traffic
 *   is skipped on it before any crypto or parsing). 2 headers.
 * Consumers read all three; producers write `BusOptions.wireLayout` (default v1 until every service reads v3).
 */
export { WireLayout } from '@meshwave/contracts';

/** The one meshwave header of the v2 and v3 layouts (its content differs: see `parseSeal`, `parseValueSeal`). */
export const SEAL_HEADER = 'mw_sig';

/** The `content-type` of a v3 record: the CloudEvents Kafka binding's marker of structured mode. */
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json';

/** What `mw_sig` carries in v2. */
export interface Seal {
  readonly keyId: string;
  readonly expiry: string;
  readonly signature: string;
}

export function formatSeal(seal: Seal): string {
  return `${seal.keyId};${seal.expiry};${seal.signature}`;
}

/**
 * Reads `mw_sig`, from the end: the signature (`v1=` + base64url) and the RFC 3339 expiry hold no `;`, the key
 * id may. Undefined when a part is missing or empty.
 */
export function parseSeal(text: string): Seal | undefined {
  const last = text.lastIndexOf(';');
  if (last <= 0) return undefined;
  const middle = text.lastIndexOf(';', last - 1);
  if (middle <= 0) return undefined;
  const seal = { keyId: text.slice(0, middle), expiry: text.slice(middle + 1, last), signature: text.slice(last + 1) };
  return seal.expiry.length > 0 && seal.signature.length > 0 ? seal : undefined;
}

/**
 * What `mw_sig` carries in v3: the signature, the key id, and for an addressed message the routing copy of its
 * audience (ADR 0026: one meshwave header instead of a seal and a `ce_audience` header).
 */
export interface ValueSeal {
  readonly signature: string;
  readonly keyId: string;
  readonly audience?: string | undefined;
}

/** `;` separates the parts and `%` escapes: a key id or an audience may hold either. */
const escapePart = (text: string): string => text.replaceAll('%', '%25').replaceAll(';', '%3B');
// Every `%` of an escaped part starts `%25` or `%3B`, so undoing `%3B` first cannot touch an escaped `%`.
const unescapePart = (text: string): string =>
  text.includes('%') ? text.replaceAll('%3B', ';').replaceAll('%25', '%') : text;

export function formatValueSeal(seal: ValueSeal): string {
  const sealed = `${seal.signature};${escapePart(seal.keyId)}`;
  return seal.audience === undefined ? sealed : `${sealed};${escapePart(seal.audience)}`;
}

/** Reads a v3 `mw_sig`: `<signature>;<key id>[;<audience>]`. Undefined when a part is missing or empty. */
export function parseValueSeal(text: string): ValueSeal | undefined {
  const parts = text.split(';');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p.length === 0)) return undefined;
  const [signature, keyId, audience] = parts as [string, string, string | undefined];
  const seal = { signature, keyId: unescapePart(keyId) };
  return audience === undefined ? seal : { ...seal, audience: unescapePart(audience) };
}
