import { LineCounter, isMap, parseAllDocuments, type Document } from 'yaml';
import { InvalidInputError, type InputProblem } from '@meshwave/contracts';
import { IstioLabel, optsOutOfInjection, revisionForcedByNamespace } from '@meshwave/istio';
import type { PinAssignment } from './pin-assignment.js';

/** Pinning inside manifests: which documents carry `istio.io/rev`, and the text rewritten to the assignment. */

export interface PinChange {
  readonly file: string;
  readonly line: number;
  readonly object: string;
  /** the revision pinned, or null when the namespace label is removed (handed over to the templates) */
  readonly revision: string | null;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

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
