/**
 * One instance per distinct value of what repeats across the fleet's units (issue 15). A parsed message or
 * stored document holds a new string for every unit's kind, namespace, revision and state, and a new labels
 * object for every workload: at fleet (b) "Deployment" was held 265,681 times. Values passed through here are
 * replaced in place by the first instance seen, so 100,000 units share a few hundred strings and label sets.
 */

/** fields whose values repeat from unit to unit; a unit's own name does not, and is left alone */
const REPEATED_FIELDS: ReadonlySet<string> = new Set([
  'kind',
  'namespace',
  'cluster',
  'revision',
  'injectedRevision',
  'state',
  'reason',
  'version',
  'group',
  'mesh',
  'from',
  'to',
]);

/** fields holding a `Record<string, string>` of labels, shared whole between units with the same ones */
const LABEL_FIELDS: ReadonlySet<string> = new Set(['labels']);

/** label sets longer than this are left apart: keying them costs more than they would save */
const MAX_SHARED_LABELS = 8;

/** Kept per process. Bounded: when it holds `limit` values it starts again (what was shared stays shared). */
export class SharedValues {
  private strings = new Map<string, string>();
  private labelSets = new Map<string, Readonly<Record<string, string>>>();

  constructor(private readonly limit = 50_000) {}

  /** the instance of `s` held (the first one seen) */
  string(s: string): string {
    const held = this.strings.get(s);
    if (held !== undefined) return held;
    if (this.strings.size >= this.limit) this.strings = new Map();
    this.strings.set(s, s);
    return s;
  }

  /**
   * The labels object held with the same entries in the same order (frozen: it is shared), or `labels` itself
   * when it is too long to share.
   */
  labels(labels: Record<string, string>): Readonly<Record<string, string>> {
    const keys = Object.keys(labels);
    if (keys.length > MAX_SHARED_LABELS) return labels;
    for (const k of keys) labels[k] = this.string(labels[k]!);
    const key = JSON.stringify(labels);
    const held = this.labelSets.get(key);
    if (held !== undefined) return held;
    if (this.labelSets.size >= this.limit) this.labelSets = new Map();
    const shared = Object.freeze(labels);
    this.labelSets.set(key, shared);
    return shared;
  }

  /** distinct strings and label sets held */
  get size(): { readonly strings: number; readonly labelSets: number } {
    return { strings: this.strings.size, labelSets: this.labelSets.size };
  }

  /**
   * `value` (a freshly parsed message or document, owned by the caller) with the values of its repeated fields
   * replaced by the held ones, in place, at any depth. Returns `value`.
   */
  share<T>(value: T): T {
    this.walk(value as unknown);
    return value;
  }

  private walk(value: unknown): void {
    if (Array.isArray(value)) {
      for (const v of value) if (typeof v === 'object' && v !== null) this.walk(v);
      return;
    }
    if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const v = o[k];
      if (typeof v === 'string') {
        if (REPEATED_FIELDS.has(k)) o[k] = this.string(v);
      } else if (typeof v === 'object' && v !== null) {
        if (LABEL_FIELDS.has(k) && !Array.isArray(v) && isStringRecord(v)) o[k] = this.labels(v);
        else this.walk(v);
      }
    }
  }
}

function isStringRecord(v: object): v is Record<string, string> {
  for (const x of Object.values(v)) if (typeof x !== 'string') return false;
  return true;
}

/**
 * The planner process's one pool: agents' reports, the documents read back from the store and the units parsed
 * from a plan share it, so a unit's kind or revision is one string whichever of them it came from.
 */
export const processValues = new SharedValues();
