import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { ContractErrorCode, InvalidInputError, formatPath, listProblems } from './errors.js';

/**
 * Nodes (scalars and collections) that aliases may add to a document, nested aliases resolved: a few lines of
 * anchors and aliases can otherwise stand for billions of nodes, which validation would walk one by one.
 * Linear to check; generous for anchors used as intended (a shared selector or label set). ADR 0013.
 */
export const MAX_ALIAS_EXPANSION = 100_000;

/** A parsed YAML document, with what is needed to point a problem at its line and column. */
export interface YamlDocument {
  readonly value: unknown;
  readonly doc: Document;
  readonly lines: LineCounter;
}

/**
 * Parses YAML into a plain value. Refuses syntax errors, duplicate keys, aliases without an anchor before them,
 * aliases to a node that contains them, and alias expansion above MAX_ALIAS_EXPANSION, each as an
 * `InvalidInputError` (code UNPARSEABLE) with path, line and column. Linear in the size of the text.
 */
export function parseYamlDocument(text: string, file: string | undefined): YamlDocument {
  const lines = new LineCounter();
  // yaml's own duplicate-key check compares each key with every earlier one (quadratic); checkDocument's is linear.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const at = (offset: number | undefined): { line?: number; column?: number } => {
    if (offset === undefined) return {};
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    throw new InvalidInputError(
      listProblems(
        doc.errors,
        (e) => ({ file, path: '', ...at(e.pos[0]), message: e.message.split('\n')[0] ?? e.message }),
        file,
      ),
      { code: ContractErrorCode.Unparseable },
    );
  }
  const problems = checkDocument(doc);
  if (problems.length > 0) {
    throw new InvalidInputError(
      listProblems(
        problems,
        (p) => ({ file, path: formatPath(pathOf(p.link)), ...at(p.offset), message: p.message }),
        file,
      ),
      { code: ContractErrorCode.Unparseable },
    );
  }
  // Aliases are bounded by checkDocument (with positions); yaml's own count would only fire without one.
  return { value: doc.toJS({ maxAliasCount: -1 }), doc, lines };
}

/** A path as a chain to its parent: children share their parent's, so deep nesting costs no copying. */
interface PathLink {
  readonly parent: PathLink | undefined;
  readonly segment: PropertyKey;
}

function pathOf(link: PathLink | undefined): PropertyKey[] {
  const path: PropertyKey[] = [];
  for (let l = link; l !== undefined; l = l.parent) path.push(l.segment);
  return path.reverse();
}

interface NodeProblem {
  readonly link: PathLink | undefined;
  readonly offset: number | undefined;
  readonly message: string;
}

type Step =
  | { readonly kind: 'enter'; readonly node: unknown; readonly path: PathLink | undefined }
  | { readonly kind: 'exit'; readonly node: Node };

/**
 * One walk in document order, with an explicit stack (deep nesting cannot overflow the call stack). An alias
 * refers to the last node with its anchor before it, as yaml resolves it; the size of every anchored node
 * (nested aliases included) is known when the walk leaves it, so each alias adds its source's size in O(1).
 */
function checkDocument(doc: Document): NodeProblem[] {
  const problems: NodeProblem[] = [];
  const anchored = new Map<string, Node>();
  const sizeOf = new Map<Node, number>();
  const open = new Set<Node>();
  // counts[i]: nodes under the i-th open collection so far, expansions included
  const counts: number[] = [0];
  let expansion = 0;
  const addToParent = (n: number): void => {
    counts[counts.length - 1]! += n;
  };
  const stack: Step[] = [{ kind: 'enter', node: doc.contents, path: undefined }];
  while (stack.length > 0) {
    const step = stack.pop()!;
    if (step.kind === 'exit') {
      open.delete(step.node);
      const size = counts.pop()!;
      if (step.node.anchor !== undefined) sizeOf.set(step.node, size);
      addToParent(size);
      continue;
    }
    const { node, path } = step;
    if (isAlias(node)) {
      const source = anchored.get(node.source);
      const offset = node.range?.[0];
      if (source === undefined) {
        problems.push({ link: path, offset, message: `alias *${node.source} has no anchor &${node.source} before it` });
      } else if (open.has(source)) {
        problems.push({ link: path, offset, message: `alias *${node.source} refers to a node that contains it` });
      } else {
        const size = sizeOf.get(source) ?? 1;
        expansion += size;
        addToParent(size);
        if (expansion > MAX_ALIAS_EXPANSION) {
          problems.push({
            link: path,
            offset,
            message: `aliases expand the document by more than ${MAX_ALIAS_EXPANSION} nodes (*${node.source} alone adds ${size})`,
          });
          break;
        }
      }
      continue;
    }
    if (isScalar(node)) {
      if (node.anchor !== undefined) {
        anchored.set(node.anchor, node);
        sizeOf.set(node, 1);
      }
      addToParent(1);
      continue;
    }
    if (!isMap(node) && !isSeq(node)) continue;
    if (node.anchor !== undefined) anchored.set(node.anchor, node);
    open.add(node);
    counts.push(1);
    stack.push({ kind: 'exit', node });
    const children: Step[] = [];
    if (isMap(node)) {
      const keys = new Set<unknown>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? pair.key.value : undefined;
        const childPath = { parent: path, segment: key === undefined || key === null ? '?' : String(key) };
        if (isScalar(pair.key)) {
          if (keys.has(key)) {
            problems.push({ link: childPath, offset: pair.key.range?.[0], message: `duplicate key "${String(key)}"` });
          }
          keys.add(key);
        }
        children.push({ kind: 'enter', node: pair.key, path: childPath });
        children.push({ kind: 'enter', node: pair.value, path: childPath });
      }
    } else {
      node.items.forEach((item, i) => children.push({ kind: 'enter', node: item, path: { parent: path, segment: i } }));
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return problems;
}
