import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ExitCode, type CommandIo } from '../io.js';
import { runCli } from '../program.js';

const example = readFileSync(new URL('../../../../examples/rollouts.yml', import.meta.url), 'utf8');
const inventory = readFileSync(new URL('../../../../examples/inventory.json', import.meta.url), 'utf8');

/** `meshwave plan` over an in-memory rollouts.yml; returns the exit code and what went to stderr. */
async function planWith(spec: string): Promise<{ code: number; stderr: string }> {
  const files: Record<string, string> = { 'rollouts.yml': spec, 'inventory.json': inventory };
  const err: string[] = [];
  const io: CommandIo = {
    readFile: (path) => Promise.resolve(files[path] ?? Promise.reject(new Error(`no file ${path}`))),
    stdout: () => undefined,
    stderr: (text) => err.push(text),
    env: {},
  };
  const code = await runCli(
    ['plan', '-f', 'rollouts.yml', '--inventory', 'inventory.json', '--now', '2026-11-23T08:00:00Z'],
    io,
  );
  return { code, stderr: err.join('\n') };
}

const lineOf = (text: string, needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('meshwave plan on input that used to crash it', () => {
  it('plans the example (exit 0 or 3)', async () => {
    expect([ExitCode.Ok, ExitCode.DeadlineMissed]).toContain((await planWith(example)).code);
  });

  it.each([
    ['soak: 999999999d', '    soak: 1h ', '    soak: 999999999d ', 'spec.defaults.soak: a duration of at most 365d'],
    [
      'batchEstimate: 999999999d',
      '    soak: 1h ',
      '    batchEstimate: 999999999d\n    soak: 1h ',
      'spec.defaults.batchEstimate: a duration of at most 7d',
    ],
    [
      'maxUnavailable: 0',
      '    maxUnavailable: 10% ',
      '    maxUnavailable: 0 ',
      'spec.defaults.maxUnavailable: at least 1 (or a percentage above 0%)',
    ],
  ])('exits 2 with file:line:column for %s', async (_, from, to, problem) => {
    const spec = example.replace(from, to);
    const line = lineOf(spec, to.trim().split('\n')[0]!);
    const { code, stderr } = await planWith(spec);
    expect(code).toBe(ExitCode.InvalidInput);
    expect(stderr).toContain(`rollouts.yml:${line}:5: ${problem}`);
  });

  it('exits 2 with file:line:column for a YAML alias bomb', async () => {
    const bomb = [
      'l0: &l0 [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from({ length: 9 }, (_, i) => `l${i + 1}: &l${i + 1} [${Array(10).fill(`*l${i}`).join(', ')}]`),
      'top: [*l9, *l9]',
      '',
    ].join('\n');
    const { code, stderr } = await planWith(bomb);
    expect(code).toBe(ExitCode.InvalidInput);
    expect(stderr).toMatch(/^rollouts\.yml:\d+:\d+: l\d\[\d\]: aliases expand the document by more than 100000 nodes/);
  });
});
