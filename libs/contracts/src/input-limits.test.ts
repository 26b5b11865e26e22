import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  ContractErrorCode,
  InvalidInputError,
  MAX_ALIAS_EXPANSION,
  MAX_LISTED_PROBLEMS,
  parseInventory,
  parseRolloutSpec,
  validate,
  RolloutSpec,
} from './index.js';

const example = readFileSync(new URL('../../../examples/rollouts.yml', import.meta.url), 'utf8');

function refusal(parse: () => unknown): InvalidInputError {
  try {
    parse();
  } catch (err) {
    if (err instanceof InvalidInputError) return err;
    throw err;
  }
  throw new Error('expected the document to be refused');
}

const problemsOf = (text: string): InvalidInputError['problems'] =>
  refusal(() => parseRolloutSpec(text, 'rollouts.yml')).problems;

const lineOf = (text: string, needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('durations have a stated maximum', () => {
  it('refuses a soak beyond 365d, with path, line and column, instead of overflowing the schedule', () => {
    const text = example.replace('    soak: 1h ', '    soak: 999999999d ');
    expect(problemsOf(text)).toEqual([
      {
        file: 'rollouts.yml',
        path: 'spec.defaults.soak',
        line: lineOf(text, '999999999d'),
        column: 5,
        message: 'a duration of at most 365d',
      },
    ]);
    expect(parseRolloutSpec(example.replace('    soak: 1h ', '    soak: 365d '), 'r.yml').spec.defaults.soak).toBe(
      365 * 86_400,
    );
  });

  it('refuses a wave soak whose digits overflow to Infinity, and an over-long duration text', () => {
    const text = example.replace('soak: 2h', `soak: 1${'0'.repeat(400)}s`);
    expect(problemsOf(text).map((p) => p.path)).toEqual(['spec.waves[0].soak']);
    expect(problemsOf(example.replace('soak: 2h', `soak: ${'1h'.repeat(20)}`))[0]).toMatchObject({
      path: 'spec.waves[0].soak',
      message: 'a duration has at most 32 characters',
    });
  });

  it('refuses a batch estimate beyond 7d', () => {
    const text = example.replace('    maxUnavailable: 10% ', '    batchEstimate: 999999999d\n    maxUnavailable: 10% ');
    expect(problemsOf(text)).toEqual([
      expect.objectContaining({ path: 'spec.defaults.batchEstimate', message: 'a duration of at most 7d', column: 5 }),
    ]);
  });
});

describe('counts have a stated range', () => {
  it.each(['0', '0%', '"0"'])('refuses maxUnavailable: %s (nothing could ever restart)', (value) => {
    const text = example.replace('    maxUnavailable: 10% ', `    maxUnavailable: ${value} `);
    expect(problemsOf(text)).toEqual([
      expect.objectContaining({
        path: 'spec.defaults.maxUnavailable',
        line: lineOf(text, `maxUnavailable: ${value} `),
        message: 'at least 1 (or a percentage above 0%): with 0 nothing could ever restart',
      }),
    ]);
  });

  it('refuses a VM group maxUnavailable of 0 and a count above 1,000,000', () => {
    const vm = example.replace('      maxUnavailable: 5%', '      maxUnavailable: 0');
    expect(problemsOf(vm).map((p) => p.path)).toEqual(['spec.vms[0].maxUnavailable']);
    const huge = example.replace('    maxUnavailable: 10% ', '    maxUnavailable: 1000001 ');
    expect(problemsOf(huge)).toEqual([
      expect.objectContaining({ path: 'spec.defaults.maxUnavailable', message: 'a count of at most 1000000' }),
    ]);
  });

  it('refuses a selector glob longer than 253 characters', () => {
    const text = example.replace('"staging-*"', `"${'*'.repeat(254)}"`);
    expect(problemsOf(text)).toEqual([
      expect.objectContaining({
        path: 'spec.waves[0].select.clusters[0]',
        message: 'a glob has at most 253 characters',
      }),
    ]);
  });
});

describe('YAML aliases', () => {
  // Ten levels of ten aliases each: 10^10 nodes once expanded, in a dozen lines.
  const bomb = [
    'apiVersion: meshwave.io/v1alpha1',
    'kind: Rollout',
    'metadata: { name: bomb }',
    'spec:',
    '  l0: &l0 [x, x, x, x, x, x, x, x, x, x]',
    ...Array.from({ length: 9 }, (_, i) => `  l${i + 1}: &l${i + 1} [${Array(10).fill(`*l${i}`).join(', ')}]`),
    '  salt: [*l9, *l9]',
    '',
  ].join('\n');

  it('refuses an alias bomb as unparseable input at the alias that crosses the limit', () => {
    const error = refusal(() => parseRolloutSpec(bomb, 'bomb.yml'));
    expect(error.code).toBe(ContractErrorCode.Unparseable);
    const [p] = error.problems;
    expect(error.problems).toHaveLength(1);
    expect(p).toMatchObject({ file: 'bomb.yml', path: expect.stringMatching(/^spec\.l\d\[\d\]$/) });
    expect(p!.message).toContain(`more than ${MAX_ALIAS_EXPANSION} nodes`);
    const line = Number(/^spec\.l(\d)/.exec(p!.path)![1]) + 5;
    expect(p!.line).toBe(line);
    expect(bomb.split('\n')[line - 1]!.slice(p!.column! - 1)).toMatch(/^\*l\d/);
  });

  it('accepts anchors used as intended and refuses an alias without anchor or inside its own anchor', () => {
    const shared = example
      .replace(
        'select: { clusterLabels: { env: prod } }\n      percent: 10',
        'select: &prod { clusterLabels: { env: prod } }\n      percent: 10',
      )
      .replace('select: { clusterLabels: { env: prod } }\n      percent: 100', 'select: *prod\n      percent: 100');
    expect(parseRolloutSpec(shared).spec.waves[3]!.select).toEqual({ clusterLabels: { env: 'prod' } });
    expect(problemsOf(example.replace('soak: 2h', 'soak: *nothing'))).toEqual([
      expect.objectContaining({
        path: 'spec.waves[0].soak',
        message: 'alias *nothing has no anchor &nothing before it',
      }),
    ]);
    expect(problemsOf('apiVersion: meshwave.io/v1alpha1\nspec: &s { x: [*s] }\n')).toEqual([
      expect.objectContaining({ path: 'spec.x[0]', line: 2, column: 16 }),
    ]);
  });

  it('refuses a duplicate key with its position', () => {
    const text = example.replace('  granularity: workload', '  granularity: workload\n  granularity: namespace');
    expect(problemsOf(text)).toEqual([
      expect.objectContaining({ path: 'spec.granularity', line: lineOf(text, 'granularity: namespace'), column: 3 }),
    ]);
  });
});

describe('many problems', () => {
  const unknownKeys = (n: number): string =>
    example.replace(
      '  granularity: workload',
      ['  granularity: workload', ...Array.from({ length: n }, (_, i) => `  k${i}: 1`)].join('\n'),
    );

  // Linear now (yaml alone takes a few seconds for 40,000 lines on a busy machine); quadratic before, it took
  // many minutes. The generous timeout only keeps a regression from hanging the run.
  it(
    `lists at most ${MAX_LISTED_PROBLEMS} of 40,000 unknown keys, the first ones with positions, then a count`,
    { timeout: 60_000 },
    () => {
      const text = unknownKeys(40_000);
      const problems = problemsOf(text);
      expect(problems).toHaveLength(MAX_LISTED_PROBLEMS);
      expect(problems[0]).toMatchObject({ path: 'spec.k0', line: lineOf(text, '  k0: 1'), column: 3 });
      expect(problems.at(-1)).toEqual({
        file: 'rollouts.yml',
        path: '',
        message: `${40_000 - MAX_LISTED_PROBLEMS + 1} more problems not listed (40000 in all)`,
      });
    },
  );

  it('lists them all when there are few, for YAML, JSON text and a parsed object alike', () => {
    expect(problemsOf(unknownKeys(3)).map((p) => p.path)).toEqual(['spec.k0', 'spec.k1', 'spec.k2']);
    const spec = { ...(parse(example) as object), extra: 1 };
    expect(refusal(() => validate(RolloutSpec, spec)).problems).toEqual([
      { path: 'extra', message: 'unknown field "extra"' },
    ]);
    const json = JSON.stringify({
      clusters: [],
      vmGroups: [],
      ...Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`x${i}`, 1])),
    });
    expect(refusal(() => parseInventory(json, 'inv.json')).problems).toHaveLength(MAX_LISTED_PROBLEMS);
  });
});
