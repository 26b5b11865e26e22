import { buildCsrGraph, type CsrGraph } from './csr-graph.js';
import { MeshError, MeshErrorCode } from './errors.js';

/**
 * Reads the METIS `.graph` format: a header `n m [fmt [ncon]]`, then one line per vertex listing its neighbours
 * (1-based), preceded by its size and weights and each followed by the edge weight, as `fmt` says (three digits,
 * leading zeros optional: vertex sizes, vertex weights, edge weights; e.g. 0, 1, 10, 11, 001, 011, 100).
 * Lines starting with `%` are comments; an empty line is a vertex without neighbours.
 * Multi-constraint graphs (ncon > 1) are refused: the splitter balances one quantity, pods.
 */
export function parseMetisGraph(text: string): CsrGraph {
  const lines = text.split(/\r?\n/);
  let i = 0;
  while (i < lines.length && (lines[i]!.startsWith('%') || lines[i]!.trim() === '')) i++;
  if (i === lines.length) throw invalid('empty file: expected a header "n m [fmt [ncon]]"', 1);
  const header = tokens(lines[i]!);
  const headerLine = i + 1;
  if (header.length < 2 || header.length > 4 || header.some((t) => !/^\d+$/.test(t))) {
    throw invalid('header must be "n m [fmt [ncon]]" with non-negative integers', headerLine);
  }
  const n = Number(header[0]);
  const m = Number(header[1]);
  const fmt = (header[2] ?? '0').padStart(3, '0');
  if (!/^[01]{3}$/.test(fmt)) throw invalid(`fmt must be up to three 0/1 digits, got ${header[2]}`, headerLine);
  const hasSize = fmt[0] === '1';
  const hasVertexWeight = fmt[1] === '1';
  const hasEdgeWeight = fmt[2] === '1';
  const ncon = header[3] === undefined ? 1 : Number(header[3]);
  if (ncon !== 1) throw invalid(`multi-constraint graphs (ncon=${ncon}) are not supported`, headerLine);

  const vwgt = new Float64Array(n).fill(1);
  const sources = new Int32Array(m);
  const targets = new Int32Array(m);
  const weights = new Float64Array(m);
  let edges = 0;
  let entries = 0;
  let v = 0;
  for (i = i + 1; i < lines.length && v < n; i++) {
    const line = lines[i]!;
    if (line.startsWith('%')) continue;
    const t = tokens(line);
    let j = 0;
    if (hasSize) j++;
    if (hasVertexWeight) {
      const w = Number(t[j++]);
      if (!Number.isFinite(w) || w < 0) throw invalid(`vertex ${v + 1}: weight must be a non-negative number`, i + 1);
      vwgt[v] = w;
    }
    const step = hasEdgeWeight ? 2 : 1;
    if ((t.length - j) % step !== 0) throw invalid(`vertex ${v + 1}: a neighbour lacks its edge weight`, i + 1);
    for (; j < t.length; j += step) {
      const u = Number(t[j]) - 1;
      if (!Number.isInteger(u) || u < 0 || u >= n)
        throw invalid(`vertex ${v + 1}: neighbour "${t[j]}" is not in 1..${n}`, i + 1);
      if (u === v) throw invalid(`vertex ${v + 1}: self-loop`, i + 1);
      const w = hasEdgeWeight ? Number(t[j + 1]) : 1;
      if (!Number.isFinite(w) || w < 0)
        throw invalid(`vertex ${v + 1}: edge weight must be a non-negative number`, i + 1);
      entries++;
      // Each undirected edge is listed at both ends; keep it once.
      if (u > v) {
        if (edges === m) throw invalid(`more edges than the ${m} the header declares`, i + 1);
        sources[edges] = v;
        targets[edges] = u;
        weights[edges] = w;
        edges++;
      }
    }
    v++;
  }
  if (v < n) throw invalid(`expected ${n} vertex lines, found ${v}`, lines.length);
  if (entries !== 2 * m || edges !== m) {
    throw invalid(`the header declares ${m} edges but the adjacency lists hold ${entries / 2}`, headerLine);
  }
  return buildCsrGraph(n, vwgt, sources, targets, weights);
}

function tokens(line: string): string[] {
  const t = line.trim();
  return t === '' ? [] : t.split(/\s+/);
}

function invalid(message: string, line: number): MeshError {
  return new MeshError(MeshErrorCode.InvalidGraph, `line ${line}: ${message}`, { line });
}

/**
 * Writes a graph in METIS `.graph` format (fmt 0, 1, 10 or 11, whichever the weights need). METIS only takes
 * integer weights, so fractional rates must be scaled by the caller first.
 */
export function writeMetisGraph(g: CsrGraph): string {
  let vertexWeights = false;
  let edgeWeights = false;
  for (let v = 0; v < g.n; v++) {
    const w = g.vwgt[v]!;
    if (!Number.isInteger(w))
      throw new MeshError(MeshErrorCode.InvalidGraph, `vertex ${v + 1} has a fractional weight ${w}`, { vertex: v });
    if (w !== 1) vertexWeights = true;
  }
  for (let p = 0; p < g.adjwgt.length; p++) {
    const w = g.adjwgt[p]!;
    if (!Number.isInteger(w))
      throw new MeshError(MeshErrorCode.InvalidGraph, `an edge has a fractional weight ${w}`, { weight: w });
    if (w !== 1) edgeWeights = true;
  }
  const fmt = vertexWeights ? (edgeWeights ? '11' : '10') : edgeWeights ? '1' : '';
  const out: string[] = [`${g.n} ${g.adjncy.length / 2}${fmt === '' ? '' : ` ${fmt}`}`];
  for (let v = 0; v < g.n; v++) {
    const parts: number[] = [];
    if (vertexWeights) parts.push(g.vwgt[v]!);
    for (let p = g.xadj[v]!; p < g.xadj[v + 1]!; p++) {
      parts.push(g.adjncy[p]! + 1);
      if (edgeWeights) parts.push(g.adjwgt[p]!);
    }
    out.push(parts.join(' '));
  }
  return out.join('\n') + '\n';
}
