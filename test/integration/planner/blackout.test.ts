// Blackouts govern every restart, on the real servers: a planner process on Kafka and Redis with scripted agents;
// a blackout begins while the rollout runs (issue 18), and an emergency the planner's policy allows goes through it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RolloutStatus } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { api, startFleet, until, untilCompleted, usePlannerFleet } from './planner-processes.js';
import { newRolloutYaml } from './scripted-agents.js';

const fleetOf = usePlannerFleet();

/** A rollout of three waves soaking 4 s each, with a blackout from 3 s after now, 15 s long. */
function rolloutWithBlackout(name: string, emergency: boolean): { yaml: string; from: number; to: number } {
  const from = Date.now() + 3_000;
  const to = from + 15_000;
  const iso = (ms: number): string => new Date(ms).toISOString();
  const yaml = newRolloutYaml({ name, soak: '4s' }).replace(
    '  waves:\n',
    [
      `  windows: { blackouts: [{ from: "${iso(from)}", to: "${iso(to)}", reason: "it freeze" }] }`,
      ...(emergency ? ['  priority: emergency'] : []),
      '  waves:',
      '',
    ].join('\n'),
  );
  return { yaml, from, to };
}

const dispatchedAt = (s: RolloutStatus): number[] =>
  s.transitions.filter((t) => t.trigger === 'dispatched').map((t) => Date.parse(t.at));

describe('blackouts on Kafka and Redis', () => {
  it('Given a blackout that begins while the first wave soaks, Then no later wave starts inside it, the touched agents are told to start no restart, and the rollout completes once it ends', async () => {
    const { p, agents: fleet } = await startFleet(fleetOf, 'blackout');
    const b = rolloutWithBlackout('it-blackout', false);
    const created = await api<{ id: string }>(p, 'POST', '/v1/rollouts', b.yaml);
    expect(created.status).toBe(201);
    const path = `/v1/rollouts/${created.body.id}`;

    // Then, inside the blackout, the rollout says what it waits for, and every touched agent was told halted
    const held = await until('the rollout waiting for the window', async () => {
      const s = (await api<RolloutStatus>(p, 'GET', path)).body;
      return s.reason?.startsWith('waiting for window until ') === true ? s : undefined;
    });
    expect(held.reason).toContain('blackout "it freeze"');
    await until('every touched agent halted', async () =>
      fleet.filter((a) => a.applied.length > 0).every((a) => a.applied.at(-1)!.halted) ? true : undefined,
    );

    const done = await untilCompleted(p, path);
    // no wave started inside the blackout
    expect(dispatchedAt(done).every((t) => t < b.from || t >= b.to)).toBe(true);
    expect(dispatchedAt(done).some((t) => t >= b.to)).toBe(true);
    expect(fleet.every((a) => [...a.revisions.values()].every((r) => r === '1-25-2'))).toBe(true);
  });

  it('Given priority: emergency and a planner policy allowing emergencies, Then it restarts inside the blackout, and the audit says why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshwave-policy-'));
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, 'apiVersion: meshwave.io/v1alpha1\nkind: Policy\nemergencies: { allowInBlackouts: true }\n');
    const { p, agents: fleet } = await startFleet(fleetOf, 'emergency', { extraEnv: { MESHWAVE_POLICY: policy } });
    const b = rolloutWithBlackout('it-emergency', true);
    const created = await api<{ id: string }>(p, 'POST', '/v1/rollouts', b.yaml);
    expect(created.status).toBe(201);
    const path = `/v1/rollouts/${created.body.id}`;

    const done = await untilCompleted(p, path);
    expect(dispatchedAt(done).some((t) => t >= b.from && t < b.to)).toBe(true);
    expect(fleet.every((a) => [...a.revisions.values()].every((r) => r === '1-25-2'))).toBe(true);
    const audit = await api<{ entries: { actor: string; action: string; reason?: string }[] }>(
      p,
      'GET',
      `/v1/audit?scope=${created.body.id}`,
    );
    expect(audit.body.entries.some((e) => e.actor === 'engine' && e.reason?.includes('inside the blackout'))).toBe(
      true,
    );
  });
});
