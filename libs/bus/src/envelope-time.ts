import { Timestamp } from '@meshwave/contracts';

/**
 * RFC 3339 of a time in ms. The messages of one publish share `nowMs` (and mostly their expiry), so the last
 * few results are kept: formatting a Date costs more than the rest of the header building.
 */
const isoCache = new Map<number, string>();
export function isoTime(ms: number): string {
  let iso = isoCache.get(ms);
  if (iso === undefined) {
    if (isoCache.size >= 8) isoCache.clear();
    iso = new Date(ms).toISOString();
    isoCache.set(ms, iso);
  }
  return iso;
}

/**
 * The ms of an RFC 3339 time that `Timestamp` accepts, else undefined. The records of one publish share their
 * `time` and usually their `expiry`, so the last few answers are kept (the check is a pure function of the text).
 */
const timestampCache = new Map<string, number | undefined>();
export function timestampMs(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  if (timestampCache.has(text)) return timestampCache.get(text);
  const ms = Timestamp.safeParse(text).success ? Date.parse(text) : undefined;
  if (timestampCache.size >= 16) timestampCache.clear();
  timestampCache.set(text, ms);
  return ms;
}
