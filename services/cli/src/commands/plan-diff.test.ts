import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { newCapturedIo } from '../captured-io.js';
import { ExitCode } from '../io.js';
import { runCli } from '../program.js';

const example = readFileSync(new URL('../../../../examples/rollouts.yml', import.meta.url), 'utf8');
/** A fleet large enough for percentages to matter: one staging and two prod clusters of 40 workloads each. */
const inventory = JSON.stringify({
  clusters: ['staging-eu-1', 'prod-us-east-1', 'prod-eu-west-1'].map((name) => ({
    name,
    labels: { env: name.startsWith('prod') ? 'prod' : 'staging' },
    controlPlanes: [
      { revision: '1-24-5', version: '1.24.5', ready: true },
      { revision: '1-25-2', version: '1.25.2', ready: true },
    ],
    workloads: Array.from({ length: 40 }, (_, i) => ({
      namespace: `ns-${i % 4}`,
      kind: 'Deployment',
      name: `app-${i}`,
      labels: { tier: i % 2 === 0 ? 'low' : 'high' },
      revision: '1-24-5',
      replicas: 2,
    })),
  })),
  vmGroups: [],
});

/** `meshwave plan diff old.yml new.yml` over in-memory files. */
async function diffWith(before: string, after: string, ...flags: string[]) {
  const io = newCapturedIo({ 'old.yml': before, 'new.yml': after, 'inventory.json': inventory });
  const argv = ['plan', 'diff', 'old.yml', 'new.yml', '--inventory', 'inventory.json', '--now', '2026-11-23T08:00:00Z'];
  const code = await runCli([...argv, ...flags], io);
  return { code, stdout: io.out.join('\n'), stderr: io.err.join('\n') };
}

describe('meshwave plan diff', () => {
  it('says two plans of the same file are the same (exit 0)', async () => {
    const same = await diffWith(example, example);
    expect(same.code, same.stderr).toBe(ExitCode.Ok);
    expect(same.stdout).toBe('the plans are the same');
  });

  it('shows the units a changed percentage moves into a wave and out of the next (exit 1)', async () => {
    const wider = example.replace('percent: 10\n', 'percent: 50\n');
    expect(wider).not.toBe(example);
    const changed = await diffWith(example, wider, '-o', 'json');
    expect(changed.code, changed.stderr).toBe(ExitCode.Failure);
    const diff = JSON.parse(changed.stdout);
    const prod10 = diff.waves.find((w: { name: string }) => w.name === 'prod-10');
    const prodAll = diff.waves.find((w: { name: string }) => w.name === 'prod-all');
    expect(prod10.after.units).toBeGreaterThan(prod10.before.units);
    expect(prod10.added.length).toBeGreaterThan(0);
    expect(prodAll.removed).toEqual(expect.arrayContaining(prod10.added.filter((u: string) => !u.startsWith('vm:'))));
    expect(diff.moved.every((m: { from: string; to: string }) => m.from === 'prod-all' && m.to === 'prod-10')).toBe(
      true,
    );
  });

  it('keeps plan options apart: plan -f still plans, and diff without --inventory is invalid input', async () => {
    const missing = await runCli(['plan', 'diff', 'a.yml', 'b.yml'], newCapturedIo());
    expect(missing).toBe(ExitCode.InvalidInput);
  });
});
