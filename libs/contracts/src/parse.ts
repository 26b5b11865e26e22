import { isMap, isNode, isPair, isScalar, type Document, type LineCounter, type Node } from 'yaml';
import type { z } from 'zod';
import { InvalidInputError, formatPath, listProblems, type InputProblem } from './errors.js';
import { Inventory } from './inventory.js';
import { RolloutSpec } from './rollout-spec.js';
import { parseYamlDocument } from './yaml-document.js';

type Path = readonly PropertyKey[];

interface Located {
  readonly doc?: Document;
  readonly lines?: LineCounter;
}

function nodeAt(doc: Document, path: Path): { node: Node | undefined; keyNode: Node | undefined } {
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  for (const seg of path) {
    if (!isNode(node) || !('items' in node)) break;
    const items = (node as { items: unknown[] }).items;
    let next: unknown;
    if (isMap(node)) {
      const pair = items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!isPair(pair)) break;
      keyNode = isNode(pair.key) ? pair.key : undefined;
      next = pair.value;
    } else {
      next = items[Number(seg)];
      keyNode = undefined;
    }
    if (!isNode(next)) {
      node = undefined;
      break;
    }
    node = next;
  }
  return { node: isNode(node) ? node : undefined, keyNode };
}

function position(loc: Located, path: Path): { line?: number; column?: number } {
  if (!loc.doc || !loc.lines) return {};
  // Walk as far down the path as the document goes: a missing field points at its parent object.
  for (let depth = path.length; depth >= 0; depth--) {
    const { node, keyNode } = nodeAt(loc.doc, path.slice(0, depth));
    const target = depth === path.length ? (keyNode ?? node) : node;
    const offset = target?.range?.[0];
    if (offset !== undefined) {
      const { line, col } = loc.lines.linePos(offset);
      return { line, column: col };
    }
  }
  return {};
}

/**
 * One problem per issue, and one per unknown key; at most MAX_LISTED_PROBLEMS are listed, and positions are
 * looked up only for those, so 40,000 unknown keys cost one pass over them.
 */
function problemsFromZod(error: z.ZodError, file: string | undefined, loc: Located): InputProblem[] {
  const found: { path: Path; message: string }[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) found.push({ path: [...issue.path, key], message: `unknown field "${key}"` });
    } else found.push({ path: issue.path, message: issue.message });
  }
  return listProblems(
    found,
    (p) => ({ file, path: formatPath(p.path), ...position(loc, p.path), message: p.message }),
    file,
  );
}

function parseYaml(text: string, file: string | undefined): { value: unknown; loc: Located } {
  const { value, doc, lines } = parseYamlDocument(text, file);
  return { value, loc: { doc, lines } };
}

/** Validates `value` against `schema`; problems carry positions when the YAML/JSON source is known. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, file?: string, source?: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const loc = source !== undefined ? parseYaml(source, file).loc : {};
  throw new InvalidInputError(problemsFromZod(result.error, file, loc));
}

/** Parses a YAML (or JSON) document and validates it, reporting its problems (the first 50) with line and column. */
export function parseDocumentText<S extends z.ZodType>(schema: S, text: string, file?: string): z.infer<S> {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    // JSON first: it is much faster on large inventories; YAML positions are computed only when needed.
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = parseYaml(text, file).value;
    }
    return validate(schema, value, file, text);
  }
  const { value, loc } = parseYaml(text, file);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new InvalidInputError(problemsFromZod(result.error, file, loc));
}

export const parseRolloutSpec = (text: string, file?: string): RolloutSpec =>
  parseDocumentText(RolloutSpec, text, file);
export const parseInventory = (text: string, file?: string): Inventory => parseDocumentText(Inventory, text, file);
