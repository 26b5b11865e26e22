import { isDeepStrictEqual } from 'node:util';
import { parseDocument } from 'yaml';

/** The ConfigMap holding a revision's mesh config (`mesh`, YAML), as Istio's installer names it: `istio-<revision>`. */
export const meshConfigMapName = (revision: string): string => `istio-${revision}`;

/**
 * The mesh config `text` (the ConfigMap's `mesh` key) with `discoverySelectors` set to `selectors`, every other
 * setting and comment kept; `changed` false when they were so already (nothing to write).
 */
export function withDiscoverySelectors(
  text: string | undefined,
  selectors: readonly unknown[],
): { readonly text: string; readonly changed: boolean } {
  const doc = parseDocument(text ?? '');
  if (doc.errors.length > 0) throw new Error(`the mesh config is not YAML: ${doc.errors[0]!.message}`);
  const current: unknown = doc.get('discoverySelectors');
  const now = current === undefined ? undefined : (doc.toJS() as { discoverySelectors?: unknown }).discoverySelectors;
  if (isDeepStrictEqual(now, selectors)) return { text: text ?? '', changed: false };
  if (doc.contents === null)
    return { text: `${doc.createNode({ discoverySelectors: selectors }).toString()}`, changed: true };
  doc.set('discoverySelectors', doc.createNode(selectors));
  return { text: doc.toString(), changed: true };
}
