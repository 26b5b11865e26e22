import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LineCounter, isMap, parseAllDocuments, type Document } from 'yaml';
import {
  InvalidInputError,
  formatProblem,
  parseInventory,
  parseRolloutSpec,
  type InputProblem,
} from '@meshwave/contracts';
import { planRollout } from '@meshwave/plan';
import { IstioLabel, optsOutOfInjection, revisionForcedByNamespace } from '@meshwave/istio';

/**
 * `meshwave pin`: the CI half of keeping workloads on their assigned revision. Rewrites `istio.io/rev` in
 * manifests (namespaces and pod templates) to the assignment, editing through the yaml Document API so
 * comments survive, and leaving every document it does not change byte for byte as it was.
 */

/** What the command touches; the CLI passes its own, tests pass fakes. Missing members fall back to node:fs. */
export interface PinIo {
  readonly readFile: (path: string) => Promise<string>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly writeFile?: (path: string, text: string) => Promise<void>;
  /** the YAML files under a directory, recursively; undefined when `path` is a file */
  readonly listYamlFiles?: (path: string) => Promise<readonly string[] | undefined>;
  readonly fetch?: typeof fetch;
}

export const PinExitCode = { Ok: 0, WouldChange: 1, InvalidInput: 2 } as const;

/** Revisions to pin: namespaces (namespace granularity) and workloads (`namespace/Kind/name`). */
export interface PinAssignment {
  readonly namespaces: ReadonlyMap<string, string>;
  readonly workloads: ReadonlyMap<string, string>;
  /**
   * Namespaces whose label is handed over to their workloads' templates (ADR 0011), with the revision the
   * templates take over; see `namespaceHandoffs`.
   */
  readonly handoffs?: ReadonlyMap<string, string>;
  /** of those, the namespaces whose every known workload is in the manifests: their Namespace label may go */
  readonly dropNamespaceLabel?: ReadonlySet<string>;
  /** every workload the inventory or planner knows, per namespace (`Kind/name`) */
  readonly known?: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface PinChange {
  readonly file: string;
  readonly line: number;
  readonly object: string;
  /** the revision pinned, or null when the namespace label is removed (handed over to the templates) */
  readonly revision: string | null;
}

const USAGE = `usage: meshwave pin -f PATH [-f PATH ...] --rollout FILE (--inventory FILE | --planner URL) [--cluster NAME]
                    [--through WAVE] [--namespace NS] [--check] [--token TOKEN]
  -f PATH          manifest file (multi-document YAML, Helm output) or directory (every *.yaml/*.yml under it)
  --rollout FILE   the rollout file (rollouts.yml)
  --inventory FILE fleet inventory: the assignment is what the plan has moved through --through (default: every wave)
  --planner URL    ask a running planner for the assignment now (needs --cluster)
  --cluster NAME   only this cluster's assignments
  --namespace NS   namespace of objects that name none (default: default)
  --check          change nothing; exit 1 when a change would be made (CI gate)`;

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

async function defaultListYamlFiles(path: string): Promise<readonly string[] | undefined> {
  if (!(await stat(path)).isDirectory()) return undefined;
  const out: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...((await defaultListYamlFiles(full)) ?? []));
    else if (/\.ya?ml$/.test(entry.name)) out.push(full);
  }
  return out.sort();
}

/** Assignment from a plan: every unit of the waves up to `through` (default all) is pinned to `to`. */
export function assignmentFromPlan(
  plan: {
    readonly to: string;
    readonly granularity: string;
    readonly waves: readonly {
      readonly name: string;
      readonly units: readonly string[];
      readonly workloads: readonly { cluster: string; namespace: string; kind: string; name: string }[];
    }[];
  },
  options: { readonly cluster?: string; readonly through?: string },
): PinAssignment {
  const namespaces = new Map<string, string>();
  const workloads = new Map<string, string>();
  for (const wave of plan.waves) {
    for (const w of wave.workloads) {
      if (options.cluster !== undefined && w.cluster !== options.cluster) continue;
      if (plan.granularity === 'namespace') namespaces.set(w.namespace, plan.to);
      else workloads.set(`${w.namespace}/${w.kind}/${w.name}`, plan.to);
    }
    if (wave.name === options.through) break;
  }
  return { namespaces, workloads };
}

/** The revision a Namespace manifest's labels inject into all its pods (as Istio's selectors read them). */
const namespaceLabelRevision = (doc: Document): string | undefined =>
  revisionForcedByNamespace(mapAt(doc, ['metadata', 'labels']));

/** The plain map at `path` (labels, annotations), undefined when absent or not a map. */
function mapAt(doc: Document, path: readonly string[]): Record<string, unknown> | undefined {
  const node = doc.getIn(path, true);
  return isMap(node) ? (node.toJSON() as Record<string, unknown>) : undefined;
}

/**
 * The manifest side of the agent's namespace label handoff (ADR 0011): a Namespace whose label injects R while
 * one of its workloads is assigned another revision must lose the label (the namespace label would win over the
 * workload's), and its unlabelled workloads take R on their templates. Without this, re-applying the Namespace
 * manifest would undo the agent's handoff. The label is dropped only when every workload the inventory (or the
 * planner) knows in that namespace is in these manifests and so carries its own label from now on; otherwise a
 * workload left out would lose its sidecar on its next pod. `missing` says which ones held it back.
 */
export function namespaceHandoffs(
  files: readonly ParsedManifests[],
  assignment: PinAssignment,
  defaultNamespace = 'default',
): { handoffs: Map<string, string>; dropNamespaceLabel: Set<string>; missing: Map<string, string[]> } {
  const handoffs = new Map<string, string>();
  const present = new Map<string, Set<string>>();
  for (const { docs } of files) {
    for (const doc of docs) {
      const kind = doc.getIn(['kind']);
      const name = doc.getIn(['metadata', 'name']);
      if (typeof kind !== 'string' || typeof name !== 'string') continue;
      if (WORKLOAD_KINDS.has(kind)) {
        const ns = doc.getIn(['metadata', 'namespace']);
        const namespace = typeof ns === 'string' ? ns : defaultNamespace;
        let set = present.get(namespace);
        if (!set) present.set(namespace, (set = new Set()));
        set.add(`${kind}/${name}`);
        continue;
      }
      if (kind !== 'Namespace' || assignment.namespaces.has(name)) continue;
      const rev = namespaceLabelRevision(doc);
      if (rev === undefined) continue;
      for (const [key, assigned] of assignment.workloads)
        if (key.startsWith(`${name}/`) && assigned !== rev) handoffs.set(name, rev);
    }
  }
  const dropNamespaceLabel = new Set<string>();
  const missing = new Map<string, string[]>();
  for (const ns of handoffs.keys()) {
    const known = assignment.known?.get(ns);
    const absent = known ? [...known].filter((w) => !present.get(ns)?.has(w)) : ['(no inventory of the namespace)'];
    if (absent.length === 0) dropNamespaceLabel.add(ns);
    else missing.set(ns, absent);
  }
  return { handoffs, dropNamespaceLabel, missing };
}

/** Applies the assignment to one parsed document; returns what changed. */
export function pinDocument(
  doc: Document,
  assignment: PinAssignment,
  defaultNamespace: string,
): { object: string; revision: string | null }[] {
  const kind = doc.getIn(['kind']);
  const name = doc.getIn(['metadata', 'name']);
  if (typeof kind !== 'string' || typeof name !== 'string') return [];
  const changes: { object: string; revision: string | null }[] = [];
  if (kind === 'Namespace') {
    const rev = assignment.namespaces.get(name);
    if (rev === undefined) {
      if (!assignment.dropNamespaceLabel?.has(name) || namespaceLabelRevision(doc) === undefined) return [];
      doc.deleteIn(['metadata', 'labels', IstioLabel.Injection]);
      doc.deleteIn(['metadata', 'labels', IstioLabel.Revision]);
      return [{ object: `Namespace/${name}`, revision: null }];
    }
    const changed =
      doc.getIn(['metadata', 'labels', IstioLabel.Revision]) !== rev ||
      doc.hasIn(['metadata', 'labels', IstioLabel.Injection]);
    if (!changed) return [];
    doc.deleteIn(['metadata', 'labels', IstioLabel.Injection]);
    doc.setIn(['metadata', 'labels', IstioLabel.Revision], rev);
    return [{ object: `Namespace/${name}`, revision: rev }];
  }
  if (!WORKLOAD_KINDS.has(kind)) return [];
  const ns = doc.getIn(['metadata', 'namespace']);
  const namespace = typeof ns === 'string' ? ns : defaultNamespace;
  const templateLabel = ['spec', 'template', 'metadata', 'labels', IstioLabel.Revision];
  const workloadRev = assignment.workloads.get(`${namespace}/${kind}/${name}`);
  // At namespace granularity the namespace label decides; a template label that says otherwise would only
  // mislead readers (and win where the namespace label is missing), so it is brought in line when present.
  const nsRev = doc.hasIn(templateLabel) ? assignment.namespaces.get(namespace) : undefined;
  // In a handed-over namespace an unlabelled template takes the revision the namespace label injected.
  const optedOut = optsOutOfInjection(
    mapAt(doc, ['spec', 'template', 'metadata', 'labels']),
    mapAt(doc, ['spec', 'template', 'metadata', 'annotations']),
  );
  const handoffRev = doc.hasIn(templateLabel) || optedOut ? undefined : assignment.handoffs?.get(namespace);
  const rev = workloadRev ?? nsRev ?? handoffRev;
  if (rev === undefined) return [];
  if (doc.getIn(templateLabel) !== rev) {
    doc.setIn(templateLabel, rev);
    changes.push({ object: `${kind}/${namespace}/${name}`, revision: rev });
  }
  if ((workloadRev ?? handoffRev) !== undefined && doc.getIn(['metadata', 'labels', IstioLabel.Revision]) !== rev) {
    doc.setIn(['metadata', 'labels', IstioLabel.Revision], rev);
    if (changes.length === 0) changes.push({ object: `${kind}/${namespace}/${name}`, revision: rev });
  }
  return changes;
}

/** Rewrites one file's text; unchanged documents are copied from the source untouched. */
/** A manifest file parsed once: its documents and line positions. */
export interface ParsedManifests {
  readonly docs: readonly Document.Parsed[];
  readonly lines: LineCounter;
}

/** Parses a manifest file (multi-document YAML); an `InvalidInputError` with file, line and column when it is not. */
export function parseManifests(text: string, file: string): ParsedManifests {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: true });
  const problems: InputProblem[] = [];
  const list = Array.isArray(docs) ? docs : [];
  for (const d of list)
    for (const e of d.errors) {
      const pos = e.linePos?.[0];
      problems.push({
        file,
        path: '',
        ...(pos ? { line: pos.line, column: pos.col } : {}),
        message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
      });
    }
  if (!Array.isArray(docs)) problems.push({ file, path: '', message: 'not a YAML stream' });
  if (problems.length > 0) throw new InvalidInputError(problems);
  return { docs: list, lines };
}

export function pinText(
  text: string,
  file: string,
  assignment: PinAssignment,
  defaultNamespace = 'default',
  parsed: ParsedManifests = parseManifests(text, file),
): { text: string; changes: PinChange[] } {
  const { docs: list, lines } = parsed;
  let out = '';
  let cursor = 0;
  const changes: PinChange[] = [];
  list.forEach((doc, i) => {
    const start = i === 0 ? 0 : doc.range[0];
    const end = doc.range[2];
    out += text.slice(cursor, start);
    const changed = pinDocument(doc, assignment, defaultNamespace);
    if (changed.length > 0) {
      // The line of `kind:`, where a reader finds the object (the document may start with comments).
      const kindNode = doc.getIn(['kind'], true) as { range?: [number, number, number] } | undefined;
      const line = lines.linePos(kindNode?.range?.[0] ?? doc.range[0]).line;
      for (const c of changed) changes.push({ file, line, ...c });
      const rendered = doc.toString();
      out += rendered.endsWith('\n') || end >= text.length ? rendered : `${rendered}\n`;
    } else {
      out += text.slice(start, end);
    }
    cursor = end;
  });
  out += text.slice(cursor);
  return { text: out, changes };
}

async function plannerAssignment(
  io: PinIo,
  url: string,
  cluster: string,
  token: string | undefined,
): Promise<PinAssignment> {
  const doFetch = io.fetch ?? fetch;
  const target = new URL(`v1/clusters/${encodeURIComponent(cluster)}`, url.endsWith('/') ? url : `${url}/`);
  const res = await doFetch(target, {
    headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) throw new InvalidInputError([{ path: '--planner', message: `${target.href} answered ${res.status}` }]);
  const body = (await res.json()) as {
    workloadList?: { namespace: string; kind: string; name: string; revision: string | null }[];
  };
  const workloads = new Map<string, string>();
  const byNs = new Map<string, Set<string | null>>();
  const known = new Map<string, Set<string>>();
  for (const w of body.workloadList ?? []) {
    let set = known.get(w.namespace);
    if (!set) known.set(w.namespace, (set = new Set()));
    set.add(`${w.kind}/${w.name}`);
    if (w.revision !== null) workloads.set(`${w.namespace}/${w.kind}/${w.name}`, w.revision);
    let s = byNs.get(w.namespace);
    if (!s) byNs.set(w.namespace, (s = new Set()));
    s.add(w.revision);
  }
  const namespaces = new Map<string, string>();
  for (const [ns, revs] of byNs) {
    const [only] = [...revs];
    if (revs.size === 1 && only) namespaces.set(ns, only);
  }
  return { namespaces, workloads, known };
}

/** `meshwave pin`: 0 done (or nothing to do), 1 with --check when something would change, 2 on bad input. */
export async function runPinCommand(args: readonly string[], io: PinIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        file: { type: 'string', short: 'f', multiple: true },
        rollout: { type: 'string' },
        inventory: { type: 'string' },
        planner: { type: 'string' },
        cluster: { type: 'string' },
        through: { type: 'string' },
        namespace: { type: 'string', default: 'default' },
        token: { type: 'string' },
        check: { type: 'boolean', default: false },
        now: { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    io.stderr(`${(err as Error).message}\n${USAGE}`);
    return PinExitCode.InvalidInput;
  }
  const problems: string[] = [];
  if (!values.file || values.file.length === 0) problems.push('-f: missing: a manifest file or directory');
  if (values.inventory === undefined && values.planner === undefined)
    problems.push('--inventory or --planner: one is needed for the assignment');
  if (values.inventory !== undefined && values.rollout === undefined)
    problems.push('--rollout: missing: the rollout file the inventory is planned with');
  if (values.planner !== undefined && values.cluster === undefined)
    problems.push('--cluster: missing: the planner is asked for one cluster');
  if (problems.length > 0) {
    io.stderr(`${problems.join('\n')}\n${USAGE}`);
    return PinExitCode.InvalidInput;
  }
  const readText = async (path: string): Promise<string> => {
    try {
      return await io.readFile(path);
    } catch (err) {
      throw new InvalidInputError(
        [
          {
            file: path,
            path: '',
            message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
          },
        ],
        { cause: err },
      );
    }
  };
  try {
    let assignment: PinAssignment;
    if (values.inventory !== undefined && values.rollout !== undefined) {
      const [specText, inventoryText] = await Promise.all([readText(values.rollout), readText(values.inventory)]);
      const spec = parseRolloutSpec(specText, values.rollout);
      const inventory = parseInventory(inventoryText, values.inventory);
      const now = values.now !== undefined ? new Date(values.now) : new Date();
      const plan = planRollout(spec, inventory, { now });
      if (values.through !== undefined && !plan.waves.some((w) => w.name === values.through))
        throw new InvalidInputError([
          {
            file: values.rollout,
            path: '--through',
            message: `no wave named "${values.through}" (waves: ${plan.waves.map((w) => w.name).join(', ')})`,
          },
        ]);
      const known = new Map<string, Set<string>>();
      for (const c of inventory.clusters) {
        if (values.cluster !== undefined && c.name !== values.cluster) continue;
        for (const w of c.workloads) {
          let set = known.get(w.namespace);
          if (!set) known.set(w.namespace, (set = new Set()));
          set.add(`${w.kind}/${w.name}`);
        }
      }
      assignment = {
        ...assignmentFromPlan(plan, {
          ...(values.cluster !== undefined ? { cluster: values.cluster } : {}),
          ...(values.through !== undefined ? { through: values.through } : {}),
        }),
        known,
      };
    } else {
      assignment = await plannerAssignment(io, values.planner!, values.cluster!, values.token ?? io.env.MESHWAVE_TOKEN);
    }
    const list = io.listYamlFiles ?? defaultListYamlFiles;
    const files: string[] = [];
    for (const f of values.file ?? []) {
      let under: readonly string[] | undefined;
      try {
        under = await list(f);
      } catch (err) {
        throw new InvalidInputError(
          [
            {
              file: f,
              path: '',
              message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
            },
          ],
          { cause: err },
        );
      }
      files.push(...(under ?? [f]));
    }
    const write = io.writeFile ?? ((p: string, t: string) => writeFile(p, t, 'utf8'));
    const allChanges: PinChange[] = [];
    const errors: InputProblem[] = [];
    const rewrites: { file: string; text: string }[] = [];
    const texts = await Promise.all(files.map(async (file) => ({ file, text: await readText(file) })));
    // Each file is parsed once: the handoff looks across all of them before any is rewritten.
    const parsed: { file: string; text: string; manifests: ParsedManifests }[] = [];
    for (const t of texts) {
      try {
        parsed.push({ ...t, manifests: parseManifests(t.text, t.file) });
      } catch (err) {
        if (err instanceof InvalidInputError) errors.push(...err.problems);
        else throw err;
      }
    }
    // All or nothing: one unparseable manifest and no file is rewritten.
    if (errors.length > 0) throw new InvalidInputError(errors);
    const { handoffs, dropNamespaceLabel, missing } = namespaceHandoffs(
      parsed.map((p) => p.manifests),
      assignment,
      values.namespace,
    );
    const withHandoffs: PinAssignment = { ...assignment, handoffs, dropNamespaceLabel };
    for (const [ns, absent] of missing)
      io.stderr(
        `Namespace/${ns} keeps istio.io/rev=${handoffs.get(ns)}: these workloads of it are not in the manifests and would lose their sidecar without it: ${absent.join(', ')}`,
      );
    for (const { file, text: source, manifests } of parsed) {
      const { text, changes } = pinText(source, file, withHandoffs, values.namespace, manifests);
      allChanges.push(...changes);
      if (changes.length > 0) rewrites.push({ file, text });
    }
    if (!values.check) for (const r of rewrites) await write(r.file, r.text);
    for (const c of allChanges)
      io.stdout(
        `${c.file}:${c.line}: ${c.object} → ${
          c.revision === null ? 'istio.io/rev removed (handed over to its workloads)' : `istio.io/rev=${c.revision}`
        }${values.check ? ' (would change)' : ''}`,
      );
    if (allChanges.length === 0) io.stdout(`${files.length} file(s) already pinned`);
    return values.check && allChanges.length > 0 ? PinExitCode.WouldChange : PinExitCode.Ok;
  } catch (err) {
    if (err instanceof InvalidInputError) {
      io.stderr(err.problems.map(formatProblem).join('\n'));
      return PinExitCode.InvalidInput;
    }
    throw err;
  }
}
