// The JSON text of a document whose arrays hold entries that are never changed once written (`DocWrite.stableEntries`,
// ADR 0074): a report merged from a delta keeps every entry the delta did not name as the same object, so the text of
// those entries is kept from the write before and only the entries the delta changed are serialised again.

/**
 * The text of each entry object already serialised, by identity. Weak: an entry no report holds any more takes its
 * text with it; a report's entries live as long as the planner holds the report (what a delta applies to).
 */
const entryText = new WeakMap<object, string>();

/** Arrays shorter than this are serialised as they are: a cache entry per element would cost more than it saves. */
const MIN_CACHED_ARRAY = 32;

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
};

/** JSON text of one array element, as JSON.stringify writes it inside an array (undefined, functions: `null`). */
function elementJson(e: unknown): string {
  if (!isPlainObject(e)) return JSON.stringify(e) ?? 'null';
  let text = entryText.get(e);
  if (text === undefined) {
    text = JSON.stringify(e) ?? 'null';
    entryText.set(e, text);
  }
  return text;
}

function valueJson(v: unknown, depth: number): string | undefined {
  if (Array.isArray(v)) {
    if (v.length < MIN_CACHED_ARRAY) return JSON.stringify(v);
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i > 0 ? ',' : '') + elementJson(v[i]);
    return `${out}]`;
  }
  if (depth > 0 && isPlainObject(v)) {
    const parts: string[] = [];
    for (const key of Object.keys(v)) {
      const text = valueJson(v[key], depth - 1);
      if (text !== undefined) parts.push(`${JSON.stringify(key)}:${text}`);
    }
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(v) as string | undefined;
}

/**
 * `JSON.stringify(value)`, the same text, reusing the text of array entries (objects in arrays of plain objects up to
 * three levels down) serialised before. Only for values whose array entries are never changed after a write.
 */
export function stableEntriesJson(value: unknown): string | undefined {
  return valueJson(value, 3);
}
