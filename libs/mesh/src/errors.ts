/** Stable codes for every error the mesh splitter raises; callers switch on `code`, never on messages. */
export const MeshErrorCode = {
  /** the graph text or document is malformed */
  InvalidGraph: 'INVALID_GRAPH',
  /** the constraints cannot all hold (a unit heavier than a mesh may be, conflicting pins, too many meshes) */
  Infeasible: 'INFEASIBLE',
  /** options are missing or contradict each other */
  InvalidOptions: 'INVALID_OPTIONS',
  /** the metrics backend could not be queried or answered something unexpected */
  MetricsUnavailable: 'METRICS_UNAVAILABLE',
} as const;
export type MeshErrorCode = (typeof MeshErrorCode)[keyof typeof MeshErrorCode];

/**
 * Raised by the mesh splitter; `context` says which input (line, unit, option) was at fault, and `path`, when
 * one field is, its path in the split request (`options.maxMeshSize`, `graph.nodes[3].pinned`).
 */
export class MeshError extends Error {
  readonly code: MeshErrorCode;
  readonly context: Readonly<Record<string, unknown>>;
  readonly path: string | undefined;

  constructor(
    code: MeshErrorCode,
    message: string,
    context: Record<string, unknown> = {},
    options?: { cause?: unknown; path?: string },
  ) {
    super(message, { cause: options?.cause });
    this.name = 'MeshError';
    this.code = code;
    this.context = context;
    this.path = options?.path;
  }
}
