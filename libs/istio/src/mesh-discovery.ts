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

/** A `discoverySelectors` entry as far as the mesh is read from it (a Kubernetes label selector). */
interface SelectorLike {
  readonly matchLabels?: Readonly<Record<string, unknown>>;
  readonly matchExpressions?: readonly {
    readonly key?: unknown;
    readonly operator?: unknown;
    readonly values?: unknown;
  }[];
}

/**
 * The mesh a control plane serves, read from its mesh config `text` (ADR 0056): the one value of `label` (meshwave's
 * `meshwave.io/mesh`) its `discoverySelectors` select namespaces by, in `matchLabels` or in an `In` expression of
 * one value, as `meshwave split --apply` writes them. Undefined when it has no selectors on that label (it discovers
 * namespaces of any mesh), when they name several meshes, or when the text is not YAML.
 */
export function meshOfDiscoverySelectors(text: string | undefined, label: string): string | undefined {
  const doc = parseDocument(text ?? '');
  if (doc.errors.length > 0) return undefined;
  const selectors = (doc.toJS() as { discoverySelectors?: unknown } | null)?.discoverySelectors;
  if (!Array.isArray(selectors)) return undefined;
  const meshes = new Set<string>();
  for (const s of selectors as SelectorLike[]) {
    const byLabel = s?.matchLabels?.[label];
    if (typeof byLabel === 'string') meshes.add(byLabel);
    for (const e of s?.matchExpressions ?? [])
      if (e.key === label && e.operator === 'In' && Array.isArray(e.values) && e.values.length === 1)
        meshes.add(String(e.values[0]));
  }
  return meshes.size === 1 ? [...meshes][0] : undefined;
}
