import { MeshSplitResult } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import type { CommandIo } from '../io.js';
import { runCli } from '../program.js';
import { SplitExitCode } from './split-command.js';

function newIo(files: Record<string, string>): CommandIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    readFile: (path) => (path in files ? Promise.resolve(files[path]!) : Promise.reject(new Error(`ENOENT: ${path}`))),
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: {},
  };
}

const twoTriangles = JSON.stringify({
  nodes: ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ id, weight: 2 })),
  edges: [
    { source: 'a', target: 'b', weight: 10 },
    { source: 'b', target: 'c', weight: 10 },
    { source: 'c', target: 'a', weight: 10 },
    { source: 'd', target: 'e', weight: 10 },
    { source: 'e', target: 'f', weight: 10 },
    { source: 'f', target: 'd', weight: 10 },
    { source: 'c', target: 'd', weight: 1 },
  ],
});

describe('meshwave split', () => {
  it('prints the split as JSON that satisfies the contract', async () => {
    const io = newIo({ 'g.json': twoTriangles });
    const code = await runCli(['split', '-f', 'g.json', '--k', '2', '--revision', '1-25-2', '--seed', '4'], io);
    expect(code).toBe(SplitExitCode.Ok);
    const result = MeshSplitResult.parse(JSON.parse(io.out.join('')));
    expect(result.cut.traffic).toBe(1);
    expect(result.meshes.map((m) => m.revision)).toEqual(['mesh-a-1-25-2', 'mesh-b-1-25-2']);
  });

  it('fails with INFEASIBLE for --max-size 0% instead of looping until the heap runs out', async () => {
    const io = newIo({ 'g.json': twoTriangles });
    expect(await runCli(['split', '-f', 'g.json', '--max-size', '0%'], io)).toBe(SplitExitCode.Failed);
    expect(io.err.join('')).toMatch(/^meshwave split: INFEASIBLE: maxMeshSize 0% allows 0 pods per mesh/);
  });

  it('prints a table and reads METIS files', async () => {
    const io = newIo({
      'g.graph': '6 7 1\n2 10 3 10\n1 10 3 10\n1 10 2 10 4 1\n3 1 5 10 6 10\n4 10 6 10\n4 10 5 10\n',
    });
    const code = await runCli(['split', '-f', 'g.graph', '--max-size', '50%', '--format', 'table'], io);
    expect(code).toBe(SplitExitCode.Ok);
    const text = io.out.join('');
    expect(text).toMatch(/^mesh\s+revision\s+units/);
    expect(text).toContain('cross-mesh traffic: 1.00');
  });

  it('rejects bad usage with exit code 2 and the usage text', async () => {
    for (const args of [
      [],
      ['-f', 'g.json'],
      ['-f', 'g.json', '--k', 'two'],
      ['-f', 'g.json', '--k', '2', '--format', 'xml'],
      ['--bogus'],
    ]) {
      const io = newIo({ 'g.json': twoTriangles });
      expect(await runCli(['split', ...args], io)).toBe(SplitExitCode.Usage);
      expect(io.err.join('')).toContain('meshwave split --help');
    }
  });

  it('fails with exit code 1 and the reason on unreadable or infeasible input', async () => {
    const missing = newIo({});
    expect(await runCli(['split', '-f', 'nope.json', '--k', '2'], missing)).toBe(SplitExitCode.Failed);
    expect(missing.err.join('')).toContain('ENOENT');
    const tooMany = newIo({ 'g.json': twoTriangles });
    expect(await runCli(['split', '-f', 'g.json', '--k', '9'], tooMany)).toBe(SplitExitCode.Failed);
    expect(tooMany.err.join('')).toContain('INFEASIBLE');
  });

  it('exits 3 when a mesh ends up over the limit', async () => {
    const lopsided = JSON.stringify({
      nodes: [
        { id: 'a', weight: 9 },
        { id: 'b', weight: 1 },
        { id: 'c', weight: 1 },
      ],
      edges: [],
    });
    const io = newIo({ 'g.json': lopsided });
    expect(await runCli(['split', '-f', 'g.json', '--k', '2'], io)).toBe(SplitExitCode.ConstraintsNotMet);
    expect(io.err.join('')).toContain('over the limit');
  });
});
