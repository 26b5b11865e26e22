/** One RFC 6902 operation; the webhook only needs these three. */
export type JsonPatchOperation =
  | { readonly op: 'add'; readonly path: string; readonly value: unknown }
  | { readonly op: 'replace'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

const escape = (segment: string): string => segment.replaceAll('~', '~0').replaceAll('/', '~1');

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The JSON patch that turns `before` into `after`. Objects are diffed key by key; arrays and scalars that differ
 * are replaced whole (the webhook never edits inside arrays, and a whole-array replace cannot misapply).
 */
export function diffJsonPatch(before: unknown, after: unknown, path = ''): JsonPatchOperation[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const ops: JsonPatchOperation[] = [];
    for (const key of Object.keys(before)) {
      if (!(key in after)) ops.push({ op: 'remove', path: `${path}/${escape(key)}` });
    }
    for (const [key, value] of Object.entries(after)) {
      const p = `${path}/${escape(key)}`;
      if (!(key in before)) ops.push({ op: 'add', path: p, value });
      else ops.push(...diffJsonPatch(before[key], value, p));
    }
    return ops;
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [{ op: 'replace', path: path === '' ? '' : path, value: after }];
}
