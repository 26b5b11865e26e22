/** A revision's mesh config as read: the ConfigMap's `mesh` text and its resourceVersion (for a conditional write). */
export interface MeshConfigRead {
  readonly text: string | undefined;
  readonly resourceVersion: string;
}

/**
 * The mesh config of a control-plane revision (the ConfigMap `istio-<revision>` in istio-system, key `mesh`), which
 * an applied split (ADR 0049) gives its mesh's `discoverySelectors`. Istio's installer owns the ConfigMap: it is
 * read and patched, never created.
 */
export interface MeshConfigPort {
  /** undefined when the revision has no ConfigMap (its control plane is not installed) */
  readMeshConfig(revision: string): Promise<MeshConfigRead | undefined>;
  /** writes `mesh`, conditional on `resourceVersion` (409 when it changed meanwhile) */
  writeMeshConfig(revision: string, text: string, resourceVersion: string): Promise<void>;
}
