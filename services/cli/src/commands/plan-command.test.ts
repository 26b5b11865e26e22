import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ExitCode, type CommandIo } from '../io.js';
import { runCli } from '../program.js';

const example = readFileSync(new URL('../../../../examples/rollouts.yml', import.meta.url), 'utf8');
const inventory = readFileSync(new URL('../../../../examples/inventory.json', import.meta.url), 'utf8');

/** `meshwave plan` over an in-memory rollouts.yml; returns the exit code and what went to stderr. */
async function planWith(spec: string, inv = inventory): Promise<{ code: number; stderr: string; stdout: string }> {
  const files: Record<string, string> = { 'rollouts.yml': spec, 'inventory.json': inv };
  const err: string[] = [];
  const out: string[] = [];
  const io: CommandIo = {
    readFile: (path) => Promise.resolve(files[path] ?? Promise.reject(new Error(`no file ${path}`))),
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    env: {},
  };
  const code = await runCli(
    ['plan', '-f', 'rollouts.yml', '--inventory', 'inventory.json', '--now', '2026-11-23T08:00:00Z'],
    io,
  );
  return { code, stderr: err.join('\n'), stdout: out.join('\n') };
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

describe("meshwave plan when one of Istio's rules refuses the plan", () => {
  // The example inventory's clusters run 1-24-5 (1.24.5) and 1-25-2 (1.25.2); `plane` replaces or joins them.
  const withPlane = (clusters: readonly string[], plane: { revision: string; version: string; ready: boolean }) => {
    const inv = JSON.parse(inventory) as { clusters: { name: string; controlPlanes: { revision: string }[] }[] };
    for (const c of inv.clusters.filter((x) => clusters.includes(x.name)))
      c.controlPlanes = [...c.controlPlanes.filter((p) => p.revision !== plane.revision), plane];
    return JSON.stringify(inv);
  };

  it('exits 4 with UNSUPPORTED_UPGRADE_PATH naming the versions, and 0/3 once a reason allows it', async () => {
    const spec = example.replace('to: 1-25-2 ', 'to: 1-27-0 ');
    const inv = withPlane(['prod-us-east-1', 'staging-eu-1'], { revision: '1-27-0', version: '1.27.0', ready: true });
    const refused = await planWith(spec, inv);
    expect(refused.code).toBe(ExitCode.Refused);
    expect(refused.stdout).toContain('PROBLEM UNSUPPORTED_UPGRADE_PATH: cluster prod-us-east-1: 1-24-5 → 1-27-0:');
    expect(refused.stdout).toContain('1.24.5 → 1.27.0');
    const allowed = await planWith(
      spec.replace('  onGateFailure:', '  allowUnsupportedUpgradePath: { reason: "vendor-tested" }\n  onGateFailure:'),
      inv,
    );
    expect([ExitCode.Ok, ExitCode.DeadlineMissed]).toContain(allowed.code);
  });

  it('exits 4 with CONTROL_PLANE_MISSING naming the cluster whose `to` is not ready', async () => {
    const { code, stdout } = await planWith(
      example,
      withPlane(['staging-eu-1'], { revision: '1-25-2', version: '1.25.2', ready: false }),
    );
    expect(code).toBe(ExitCode.Refused);
    expect(stdout).toContain(
      'CONTROL_PLANE_MISSING: the control plane of revision 1-25-2 is not ready in cluster staging-eu-1',
    );
  });
});
