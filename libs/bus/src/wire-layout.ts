/**
 * The two header layouts of a meshwave envelope on the wire (ADR 0021). Both are CloudEvents binary content
 * mode; they differ in where the meshwave attributes travel:
 * - v1 (until 0021): ten headers; `content-type`, `ce_expiry`, `mw_key_id` and `mw_signature` each on its own.
 * - v2: the CloudEvents context attributes (`ce_specversion`, `ce_id`, `ce_type`, `ce_source`, `ce_time`,
 *   `ce_audience` when addressed) plus ONE meshwave header, `mw_sig` = `<key id>;<expiry>;<signature>`. The
 *   content type is always JSON, so it is not sent. The signature covers the same attributes as v1 (expiry and
 *   key id included, read from `mw_sig`) under its own domain tag, so a v1 signature never verifies as v2.
 * Consumers read both; producers write `BusOptions.wireLayout` (default v1 until every service reads v2).
 */
export const WireLayout = { V1: 'v1', V2: 'v2' } as const;
export type WireLayout = (typeof WireLayout)[keyof typeof WireLayout];

/** The one meshwave header of the v2 layout. */
export const SEAL_HEADER = 'mw_sig';

/** What `mw_sig` carries. */
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
