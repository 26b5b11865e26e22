import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  InvalidInputError,
  parseInventory,
  parseRolloutSpec,
  parseDurationSeconds,
  resolvePercentOrCount,
} from './index.js';

const example = readFileSync(new URL('../../../examples/rollouts.yml', import.meta.url), 'utf8');

function problemsOf(text: string): InvalidInputError['problems'] {
  try {
    parseRolloutSpec(text, 'rollouts.yml');
  } catch (err) {
    if (err instanceof InvalidInputError) return err.problems;
    throw err;
  }
  throw new Error('expected the spec to be refused');
}

describe('rollout file', () => {
  it('accepts every field of the example with its meaning', () => {
    const spec = parseRolloutSpec(example, 'rollouts.yml');
    expect(spec.spec.from).toBe('1-24-5');
    expect(spec.spec.to).toBe('1-25-2');
    expect(spec.spec.defaults.soak).toBe(3600);
    expect(spec.spec.defaults.maxUnavailable).toEqual({ kind: 'percent', value: 10 });
    expect(spec.spec.waves.map((w) => w.soak)).toEqual([7200, 86_400, undefined, undefined]);
    expect(spec.spec.waves[1]!.approval).toBe(true);
    expect(spec.spec.vms[0]!.maxUnavailable).toEqual({ kind: 'percent', value: 5 });
    expect(spec.spec.windows?.allow[0]!.days).toEqual(['Mon', 'Tue', 'Wed', 'Thu']);
    expect(spec.spec.onGateFailure).toBe('rollback-wave');
    expect(spec.spec.gates.compare).toEqual({ test: 'mann-whitney', alpha: 0.05 });
  });

  it('reports an unknown field with its path, line and column', () => {
    const text = example.replace('  granularity: workload', '  granularity: workload\n  grnularity: namespace');
    const [p] = problemsOf(text);
    expect(p).toMatchObject({ file: 'rollouts.yml', path: 'spec.grnularity', message: 'unknown field "grnularity"' });
    const line = text.split('\n').findIndex((l) => l.includes('grnularity')) + 1;
    expect(p!.line).toBe(line);
    expect(p!.column).toBe(3);
  });

  it('reports every problem at once, each at its own position', () => {
    const text = example
      .replace('percent: 10\n', 'percent: 140\n')
      .replace('soak: 2h', 'soak: 2 hours')
      .replace('to: 1-25-2 ', 'to: 1.25.2 ');
    const paths = problemsOf(text).map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['spec.to', 'spec.waves[0].soak', 'spec.waves[2].percent']));
    for (const p of problemsOf(text)) expect(p.line).toBeGreaterThan(0);
  });

  it('refuses from = to, a bad deadline and an unknown wave for VMs', () => {
    const text = example
      .replace('to: 1-25-2 ', 'to: 1-24-5 ')
      .replace('"2026-12-20T00:00:00Z"', '"next friday"')
      .replace('wave: prod-10', 'wave: prod-11');
    const byPath = Object.fromEntries(problemsOf(text).map((p) => [p.path, p.message]));
    expect(byPath['spec.to']).toMatch(/differ/);
    expect(byPath['spec.deadline']).toMatch(/RFC 3339/);
    expect(byPath['spec.vms[0].wave']).toMatch(/no wave named "prod-11"/);
  });

  it('refuses revision names Istio would refuse', () => {
    for (const bad of ['1.25.2', 'Rev-1', '-1-25', 'a'.repeat(64)]) {
      const problems = problemsOf(example.replace('to: 1-25-2 ', `to: "${bad}" `));
      expect(problems.map((p) => p.path)).toContain('spec.to');
    }
  });

  it('reports YAML syntax errors with line and column', () => {
    const problems = problemsOf('apiVersion: meshwave.io/v1alpha1\nkind: Rollout\nspec:\n  from: [1-24-5\n');
    expect(problems[0]!.line).toBeGreaterThan(0);
    expect(problems[0]!.column).toBeGreaterThan(0);
  });
});

describe('primitives', () => {
  it('parses durations', () => {
    expect(parseDurationSeconds('90s')).toBe(90);
    expect(parseDurationSeconds('2h')).toBe(7200);
    expect(parseDurationSeconds('3d')).toBe(259_200);
    expect(parseDurationSeconds('1h30m')).toBe(5400);
    expect(parseDurationSeconds('2 hours')).toBeUndefined();
  });

  it('resolves percent-or-count, rounding percentages up to at least one', () => {
    expect(resolvePercentOrCount({ kind: 'percent', value: 10 }, 3)).toBe(1);
    expect(resolvePercentOrCount({ kind: 'percent', value: 10 }, 100)).toBe(10);
    expect(resolvePercentOrCount({ kind: 'percent', value: 5 }, 41)).toBe(3);
    expect(resolvePercentOrCount({ kind: 'count', value: 3 }, 2)).toBe(2);
    expect(resolvePercentOrCount({ kind: 'percent', value: 0 }, 50)).toBe(0);
  });
});

describe('inventory', () => {
  it('parses the example inventory', () => {
    const inv = parseInventory(
      readFileSync(new URL('../../../examples/inventory.json', import.meta.url), 'utf8'),
      'inventory.json',
    );
    expect(inv.clusters.length).toBeGreaterThan(1);
  });

  it('points at the bad field of a JSON inventory with line and column', () => {
    const text =
      '{\n  "clusters": [\n    { "name": "a", "workloads": [ { "namespace": "ns", "kind": "Pod", "name": "x", "revision": "1-24-5" } ] }\n  ]\n}';
    try {
      parseInventory(text, 'inventory.json');
      expect.unreachable();
    } catch (err) {
      const p = (err as InvalidInputError).problems[0]!;
      expect(p.path).toBe('clusters[0].workloads[0].kind');
      expect(p.line).toBe(3);
    }
  });
});

const GATEWAY_SPEC = `apiVersion: meshwave.io/v1alpha1
kind: Rollout
metadata: { name: gw }
spec:
  from: 1-24-5
  to: 1-25-2
  deadline: "2027-03-01T00:00:00Z"
  waves: [{ name: all }]
`;

describe('the rollout file gateways section', () => {
  it('is absent unless written: a rollout file from before gateways keeps its meaning', () => {
    expect(parseRolloutSpec(GATEWAY_SPEC).spec.gateways).toBeUndefined();
  });

  it('defaults to steps of 10%, 50%, 100% and an empty selector', () => {
    const spec = parseRolloutSpec(`${GATEWAY_SPEC}  gateways: {}\n`);
    expect(spec.spec.gateways).toEqual({ select: {}, steps: [10, 50, 100] });
  });

  it('reads a selector, steps and a soak', () => {
    const text = `${GATEWAY_SPEC}  gateways:\n    select: { namespaces: [istio-*], gatewayLabels: { istio: ingressgateway } }\n    steps: [25, 100]\n    soak: 10m\n`;
    expect(parseRolloutSpec(text).spec.gateways).toEqual({
      select: { namespaces: ['istio-*'], gatewayLabels: { istio: 'ingressgateway' } },
      steps: [25, 100],
      soak: 600,
    });
  });

  it('refuses steps that do not increase, with the step path, line and column', () => {
    const text = `${GATEWAY_SPEC}  gateways:\n    steps: [10, 50, 50, 100]\n`;
    const [p] = problemsOf(text);
    expect(p).toMatchObject({
      path: 'spec.gateways.steps[2]',
      message: 'steps must increase: 50% is not above the step before it (50%)',
    });
    expect(p!.line).toBe(text.split('\n').findIndex((l) => l.includes('steps:')) + 1);
  });

  it('refuses a last step below 100, a share out of range, too many steps and an unknown field', () => {
    expect(problemsOf(`${GATEWAY_SPEC}  gateways: { steps: [10, 50] }\n`)).toMatchObject([
      { path: 'spec.gateways.steps[1]', message: 'the last step must be 100 (every replica of each gateway on `to`)' },
    ]);
    expect(problemsOf(`${GATEWAY_SPEC}  gateways: { steps: [0, 100] }\n`)).toMatchObject([
      { path: 'spec.gateways.steps[0]', message: 'at least 1%' },
    ]);
    expect(problemsOf(`${GATEWAY_SPEC}  gateways: { steps: [10, 100.5] }\n`).map((p) => p.path)).toContain(
      'spec.gateways.steps[1]',
    );
    const eleven = Array.from({ length: 11 }, (_, i) => (i + 1) * 9 + 1).join(', ');
    expect(problemsOf(`${GATEWAY_SPEC}  gateways: { steps: [${eleven}] }\n`).map((p) => p.message)).toContain(
      'at most 10 steps',
    );
    expect(problemsOf(`${GATEWAY_SPEC}  gateways: { selector: {} }\n`)).toMatchObject([
      { path: 'spec.gateways.selector', message: 'unknown field "selector"' },
    ]);
  });
});
