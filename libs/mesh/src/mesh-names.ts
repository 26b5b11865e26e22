import { RevisionName } from '@meshwave/contracts';
import { MeshError, MeshErrorCode } from './errors.js';

/** The label a namespace carries to say which mesh it belongs to: defined once in the contracts, as agents report it. */
export { MESH_LABEL } from '@meshwave/contracts';

/** `mesh-a`, `mesh-b`, …, `mesh-z`, `mesh-aa`, … (bijective base 26, so names stay short and ordered). */
export function meshName(prefix: string, index: number): string {
  let suffix = '';
  let i = index + 1;
  while (i > 0) {
    i--;
    suffix = String.fromCharCode(97 + (i % 26)) + suffix;
    i = Math.floor(i / 26);
  }
  return `${prefix}-${suffix}`;
}

export function meshNames(prefix: string, k: number): string[] {
  return Array.from({ length: k }, (_, i) => meshName(prefix, i));
}

/** The index of a generated mesh name, or undefined when `name` is not one of the prefix's names. */
export function meshIndex(prefix: string, name: string): number | undefined {
  const m = new RegExp(`^${prefix.replace(/[-]/g, '\\-')}-([a-z]+)$`).exec(name);
  if (!m) return undefined;
  let index = 0;
  for (const ch of m[1]!) index = index * 26 + (ch.charCodeAt(0) - 96);
  return index - 1;
}

/**
 * The control-plane revision of a mesh: `<mesh>-<revision>` (e.g. mesh-a-1-25-2), or the mesh name alone when
 * no Istio revision is given. Istio revisions are DNS labels: at most 63 characters.
 */
export function meshRevision(mesh: string, revision: string | undefined): string {
  const name = revision === undefined ? mesh : `${mesh}-${revision}`;
  const checked = RevisionName.safeParse(name);
  if (!checked.success) {
    throw new MeshError(
      MeshErrorCode.InvalidOptions,
      `revision name "${name}" is not a valid Istio revision: ${checked.error.issues.map((i) => i.message).join('; ')}`,
      { mesh, revision },
    );
  }
  return name;
}
