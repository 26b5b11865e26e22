import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseInventory, parseRolloutSpec, type PlanResponse } from '@meshwave/contracts';
import { planRollout } from '@meshwave/plan';
import { newCapturedIo, type CapturedIo } from '../captured-io.js';
import { runCli } from '../program.js';
import { NOT_A_TERMINAL } from './apply-command.js';

const example = (file: string): string =>
  readFileSync(new URL(`../../../../examples/${file}`, import.meta.url), 'utf8');
const SPEC = example('rollouts.yml');

/** The example's plan as the planner would answer it, with one preflight risk and what its policy says. */
const plan: PlanResponse = {
  ...planRollout(parseRolloutSpec(SPEC), parseInventory(example('inventory.json')), {
    now: new Date('2026-11-23T08:00:00Z'),
  }),
  risks: [
    { unit: 'prod-us-east-1/payments/Deployment/api', code: 'SINGLE_REPLICA', detail: '1 replica', blocking: false },
  ],
  policy: {
    rules: ['prod-first-wave-approval', 'prod-soak'],
    violations: [{ rule: 'prod-soak', path: 'spec.waves[2].soak', message: 'policy rule "prod-soak": soaks 60s' }],
  },
};
const created = { id: 'istio-1-25-2-abc123', phase: 'Pending', plan };

/** A fake planner: answers the plan and the creation, and records which routes were called. */
const calls: string[] = [];
let server: Server;
let flags: string[];

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const route = `${req.method} ${req.url}`;
      calls.push(route);
      const body = route === 'POST /v1/plans' ? plan : route === 'POST /v1/rollouts' ? created : undefined;
      res.writeHead(body === undefined ? 404 : route === 'POST /v1/rollouts' ? 201 : 200, {
        'content-type': 'application/json',
      });
      res.end(JSON.stringify(body ?? { code: 'NOT_FOUND', message: route, details: [] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  flags = ['--planner', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, '--token', 't0k'];
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  calls.length = 0;
});

/** An io with the rollout file; `answer` makes it a terminal where the person answers so (and records the question). */
function newIo(answer?: string): CapturedIo & { asked: string[] } {
  const asked: string[] = [];
  const io = newCapturedIo({ 'rollouts.yml': SPEC });
  return answer === undefined
    ? { ...io, asked }
    : { ...io, asked, ask: (q: string) => (asked.push(q), Promise.resolve(answer)) };
}

describe('meshwave apply: preview, then confirm', () => {
  it('Given a terminal, Then it shows the plan (waves, clusters, units, the bound against the deadline, risks, the policy rules that apply and what breaks them) and creates the rollout only on yes', async () => {
    const io = newIo('y');
    expect(await runCli(['apply', '-f', 'rollouts.yml', ...flags], io)).toBe(0);
    const out = io.out.join('\n');
    for (const shown of [
      'rollout istio-1-25-2: 1-24-5 → 1-25-2',
      'deadline 2026-12-20T00:00:00Z   estimated completion',
      'prod-canary',
      'prod-us-east-1           1 units, 1 at once, 1 batches',
      'preflight risks (1):',
      'SINGLE_REPLICA',
      'Policy rules that apply: prod-first-wave-approval, prod-soak',
      'breaks prod-soak at spec.waves[2].soak: policy rule "prod-soak": soaks 60s',
    ])
      expect(out).toContain(shown);
    expect(io.asked).toEqual(['\nCreate this rollout on the planner? [y/N] ']);
    expect(calls).toEqual(['POST /v1/plans', 'POST /v1/rollouts']);
    expect(io.out.at(-1)).toBe('rollout istio-1-25-2-abc123 created (Pending); 5 waves, feasible: true');
  });

  it.each(['', 'n', 'no', 'sure'])(
    'Given a terminal, When the answer is %j, Then nothing is created (exit 1)',
    async (answer) => {
      const io = newIo(answer);
      expect(await runCli(['apply', '-f', 'rollouts.yml', ...flags], io)).toBe(1);
      expect(calls).toEqual(['POST /v1/plans']);
      expect(io.err).toEqual(['meshwave apply: not confirmed: nothing was created']);
    },
  );

  it('Given no terminal and no --yes, Then it refuses before calling the planner, says why, and exits 2', async () => {
    const io = newIo();
    expect(await runCli(['apply', '-f', 'rollouts.yml', ...flags], io)).toBe(2);
    expect(calls).toEqual([]);
    expect(io.err).toEqual([NOT_A_TERMINAL]);
    expect(NOT_A_TERMINAL).toContain('--yes');
  });

  it('Given --yes, Then it shows the plan and creates without asking, on a terminal or off one', async () => {
    for (const io of [newIo(), newIo('n')]) {
      calls.length = 0;
      expect(await runCli(['apply', '-f', 'rollouts.yml', '--yes', ...flags], io)).toBe(0);
      expect(io.asked).toEqual([]);
      expect(calls).toEqual(['POST /v1/plans', 'POST /v1/rollouts']);
      expect(io.out.join('\n')).toContain('prod-canary');
    }
  });

  it('Given -y -o json, Then stdout is the created rollout only; asked on a terminal, the preview goes to stderr', async () => {
    const ci = newIo();
    expect(await runCli(['apply', '-f', 'rollouts.yml', '-y', '-o', 'json', ...flags], ci)).toBe(0);
    expect(JSON.parse(ci.out.join(''))).toMatchObject({ id: created.id });
    expect(calls).toEqual(['POST /v1/rollouts']);
    const person = newIo('yes');
    expect(await runCli(['apply', '-f', 'rollouts.yml', '-o', 'json', ...flags], person)).toBe(0);
    expect(JSON.parse(person.out.join(''))).toMatchObject({ id: created.id });
    expect(person.err.join('\n')).toContain('prod-canary');
  });
});
