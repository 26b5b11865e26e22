/** Stable codes for every error this package raises; callers switch on `code`, never on messages. */
export const ContractErrorCode = {
  InvalidInput: 'INVALID_INPUT',
  Unparseable: 'UNPARSEABLE',
} as const;
export type ContractErrorCode = (typeof ContractErrorCode)[keyof typeof ContractErrorCode];

/** One problem in a document: where it is (path, and line/column for YAML) and what was expected there. */
export interface InputProblem {
  readonly file?: string;
  /** JSON path of the offending field, e.g. `spec.waves[1].percent`. Empty for document-level problems. */
  readonly path: string;
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

/** Raised when a rollout file, inventory or message does not satisfy its contract. Carries every problem found. */
export class InvalidInputError extends Error {
  readonly code: ContractErrorCode;
  readonly problems: readonly InputProblem[];

  constructor(problems: readonly InputProblem[], options?: { code?: ContractErrorCode; cause?: unknown }) {
    super(problems.map(formatProblem).join('\n'), { cause: options?.cause });
    this.name = 'InvalidInputError';
    this.code = options?.code ?? ContractErrorCode.InvalidInput;
    this.problems = problems;
  }
}

/** `file:line:col: path: message`, the form editors and CI logs link to. */
export function formatProblem(p: InputProblem): string {
  const where = [
    p.file,
    p.line !== undefined ? String(p.line) : undefined,
    p.column !== undefined ? String(p.column) : undefined,
  ]
    .filter((x) => x !== undefined)
    .join(':');
  const field = p.path === '' ? '' : `${p.path}: `;
  return `${where === '' ? '' : `${where}: `}${field}${p.message}`;
}

/** `spec.waves[1].percent` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/**
 * Problems listed for one document at most: a document with 40,000 unknown keys gets the first ones and a count,
 * not 40,000 lines (nor 40,000 position look-ups). ADR 0013.
 */
export const MAX_LISTED_PROBLEMS = 50;

/**
 * The first problems of `found`, each described (positions looked up) only when listed; when more were found
 * than MAX_LISTED_PROBLEMS, the last entry says how many were left out.
 */
export function listProblems<T>(
  found: readonly T[],
  describe: (problem: T) => InputProblem,
  file: string | undefined,
): InputProblem[] {
  if (found.length <= MAX_LISTED_PROBLEMS) return found.map(describe);
  const shown = found.slice(0, MAX_LISTED_PROBLEMS - 1).map(describe);
  const rest = found.length - shown.length;
  return [...shown, { file, path: '', message: `${rest} more problems not listed (${found.length} in all)` }];
}
