import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newCapturedIo, type CapturedIo } from '../captured-io.js';
import { runCli } from '../program.js';

/** What the fake planner was asked. */
interface Seen {
  readonly method: string;
  readonly url: string;
  readonly authorization?: string;
  readonly body?: unknown;
}

const action = (id: string, name: string) => ({ id, action: name, phase: 'Halted', message: `${name} done` });

const transition = {
  at: '2026-12-06T07:00:00Z',
  from: 'Running',
  to: 'Halted',
  trigger: 'freeze',
  reason: 'INC-1',
  wave: 0,
  actor: 'sre',
};
const events = [
  { type: 'transition', rolloutId: 'r1', at: '2026-12-06T07:00:00Z', phase: 'Halted', wave: 0, transition },
  {
    type: 'progress',
    rolloutId: 'r1',
    at: '2026-12-06T07:00:01Z',
    phase: 'Running',
    wavePhase: 'Converging',
    wave: 1,
    message: '3/10 units',
  },
];

let looks = 0;
const rolloutStatus = (phase: string) => ({
  id: 'r1',
  name: 'istio-1-25-2',
  from: '1-24-5',
  to: '1-25-2',
  phase,
  wave: 0,
  deadline: '2026-12-07T00:00:00Z',
  estimatedCompletion: '2026-12-06T08:00:00Z',
  deadlineAtRisk: false,
  traceId: '0af7651916cd43dd8448eb211c80319c',
  waveStatuses: [
    {
      index: 0,
      name: 'staging',
      state: phase === 'Completed' ? 'passed' : 'active',
      approval: false,
      approved: false,
      forced: false,
      units: { pending: 0, moving: 0, converged: phase === 'Completed' ? 4 : 1, failed: phase === 'Completed' ? 0 : 1 },
      vmHosts: { pending: 0, upgrading: 0, converged: 0, failed: 0 },
      clusters: [],
      vmGroups: [],
      failedUnits: [],
    },
  ],
  gateVerdicts: [],
  excluded: [],
  transitions: [],
});

/** Answers as the planner's routes do; the event stream comes in pieces that split lines and events. */
function answer(req: IncomingMessage, res: ServerResponse, body: unknown): void {
  const json = (status: number, value: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  };
  const url = new URL(req.url!, 'http://x');
  const route = `${req.method} ${url.pathname}`;
  if (route === 'POST /v1/freeze')
    return json(200, {
      frozen: true,
      reason: (body as { reason: string }).reason,
      since: '2026-12-06T07:00:00Z',
      by: 'sre',
    });
  if (route === 'DELETE /v1/freeze') return json(200, { frozen: false, by: 'sre' });
  if (route === 'POST /v1/rollouts/r1/retry') return json(200, action('r1', 'retry'));
  if (route === 'POST /v1/rollouts/r1/exclude') return json(200, action('r1', 'exclude'));
  if (route === 'POST /v1/rollouts/r1/include') return json(200, action('r1', 'include'));
  if (route === 'GET /v1/audit')
    return json(200, {
      entries: [
        { id: '1-0', actor: 'sre', action: 'freeze', scope: 'fleet', reason: 'INC-1', at: '2026-12-06T07:00:00Z' },
      ],
      nextCursor: '1-0',
    });
  if (route === 'GET /v1/rollouts/r1/audit')
    return json(200, { entries: [{ actor: 'sre', action: 'pause', scope: 'r1', at: '2026-12-06T07:00:00Z' }] });
  if (route === 'GET /v1/rollouts/r1/transitions')
    return json(200, { transitions: [{ ...transition, seq: 7 }], total: 8, oldestKept: 0 });
  if (route === 'GET /v1/rollouts/r1') {
    // Running on the first look, Completed on the next
    looks++;
    return json(200, rolloutStatus(looks > 1 ? 'Completed' : 'Running'));
  }
  if (route === 'GET /v1/events') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const text = `: meshwave planner events\n\n${events.map((e, i) => `id: ${i + 1}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join(': keep-alive\n\n')}`;
    const cut = Math.floor(text.length / 3);
    res.write(text.slice(0, cut));
    setTimeout(() => res.write(text.slice(cut, 2 * cut)), 10);
    setTimeout(() => res.write(text.slice(2 * cut)), 20);
    return undefined; // kept open, as the planner's stream is
  }
  return json(404, { code: 'NOT_FOUND', message: `no route ${route}`, details: [] });
}

describe('planner commands against a fake planner', () => {
  let server: Server;
  let flags: string[];
  const seen: Seen[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const body: unknown = text === '' ? undefined : JSON.parse(text);
        seen.push({
          method: req.method!,
          url: req.url!,
          ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
          ...(body === undefined ? {} : { body }),
        });
        answer(req, res, body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    flags = ['--planner', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, '--token', 't0k'];
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    seen.length = 0;
    looks = 0;
  });

  const newIo = (): CapturedIo => newCapturedIo();

  it.each([
    [
      ['freeze', '--reason', 'INC-1'],
      { method: 'POST', url: '/v1/freeze', body: { reason: 'INC-1' } },
      /freeze: the fleet is frozen \(since 2026-12-06T07:00:00Z, by sre, "INC-1"\)/,
    ],
    [
      ['unfreeze', '--reason', 'INC-1 over'],
      { method: 'DELETE', url: '/v1/freeze', body: { reason: 'INC-1 over' } },
      /unfreeze: the fleet is not frozen \(by sre\)/,
    ],
    [
      ['retry', 'r1', '--unit', 'c1/shop/Deployment/cart', '--unit', 'c2/web', '--reason', 'fixed'],
      {
        method: 'POST',
        url: '/v1/rollouts/r1/retry',
        body: {
          units: ['c1/shop/Deployment/cart', 'c2/web'],
          reason: 'fixed',
        },
      },
      /retry: retry done \(phase Halted\)/,
    ],
    [
      ['retry', 'r1', '--reason', 'all of them'],
      { method: 'POST', url: '/v1/rollouts/r1/retry', body: { reason: 'all of them' } },
      /retry done/,
    ],
    [
      ['exclude', 'r1', '--unit', 'c1/shop/StatefulSet/db', '--reason', 'crash loop'],
      {
        method: 'POST',
        url: '/v1/rollouts/r1/exclude',
        body: { units: [{ cluster: 'c1', namespace: 'shop', kind: 'StatefulSet', name: 'db' }], reason: 'crash loop' },
      },
      /exclude: exclude done/,
    ],
    [
      ['include', 'r1', '--unit', 'c1/shop/StatefulSet/db', '--unit', 'c2/web', '--reason', 'fixed'],
      {
        method: 'POST',
        url: '/v1/rollouts/r1/include',
        body: {
          units: [
            { cluster: 'c1', namespace: 'shop', kind: 'StatefulSet', name: 'db' },
            { cluster: 'c2', namespace: 'web' },
          ],
          reason: 'fixed',
        },
      },
      /include: include done/,
    ],
    [['audit'], { method: 'GET', url: '/v1/audit' }, /sre\s+freeze\s+fleet\s+"INC-1"/],
    [['audit', '--scope', 'fleet', '--limit', '5'], { method: 'GET', url: '/v1/audit?scope=fleet&limit=5' }, /freeze/],
    [['audit', 'r1'], { method: 'GET', url: '/v1/rollouts/r1/audit' }, /sre\s+pause\s+r1/],
    [
      ['transitions', 'r1', '--limit', '1'],
      { method: 'GET', url: '/v1/rollouts/r1/transitions?limit=1' },
      /#7 .* Running → Halted \(freeze, sre\): INC-1/,
    ],
  ])('%j calls the API as it states, with the token', async (argv, request, printed) => {
    const io = newIo();
    expect(await runCli([...argv, ...flags], io)).toBe(0);
    expect(seen).toEqual([{ ...request, authorization: 'Bearer t0k' }]);
    expect(io.out.join('\n')).toMatch(printed);
  });

  it('names the older page of the audit on stderr, so -o json stays one document on stdout', async () => {
    const io = newIo();
    expect(await runCli(['audit', '-o', 'json', ...flags], io)).toBe(0);
    expect((JSON.parse(io.out.join('')) as { entries: unknown[] }).entries).toHaveLength(1);
    expect(io.err).toEqual(['older entries: meshwave audit --cursor 1-0']);
  });

  it('follows the event stream, one line per event, and stops after --count', async () => {
    const io = newIo();
    expect(await runCli(['events', '--rollout', 'r1', '--count', '2', ...flags], io)).toBe(0);
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/v1/events?rollout=r1', authorization: 'Bearer t0k' });
    expect(io.out).toEqual([
      '2026-12-06T07:00:00Z r1 transition Halted wave 0: Running → Halted (freeze, sre): INC-1',
      '2026-12-06T07:00:01Z r1 progress   Running/Converging wave 1: 3/10 units',
    ]);
  });

  it('prints events as one JSON object per line with -o json', async () => {
    const io = newIo();
    expect(await runCli(['events', '--count', '2', '-o', 'json', ...flags], io)).toBe(0);
    expect(io.out.map((l) => JSON.parse(l) as unknown)).toEqual(events);
  });

  it('says what the planner refused, and exits 2', async () => {
    const io = newIo();
    expect(await runCli(['transitions', 'nope', ...flags], io)).toBe(2);
    expect(io.err.join('')).toMatch(/not found \(404\): no route GET \/v1\/rollouts\/nope\/transitions/);
  });

  describe('status --watch', () => {
    const ESC = '\u001b[';
    const watch = async (terminal: boolean, extra: string[], env: Record<string, string> = {}): Promise<string> => {
      const io = { ...newCapturedIo({}, env), ...(terminal ? { terminal: { columns: 100, rows: 30 } } : {}) };
      expect(await runCli(['status', 'r1', '--watch', ...extra, ...flags], io, { sleep: async () => undefined })).toBe(
        0,
      );
      return io.out.join('');
    };

    it('redraws in place, in colour, on a terminal', async () => {
      const out = await watch(true, []);
      expect(out).toContain(`${ESC}4A`); // up over the first frame (4 lines)
      expect(out).toContain(`${ESC}32m`); // green: converged units, Completed
      expect(out).toMatch(/phase .*Completed/);
    });

    it('leaves colour out on a terminal when NO_COLOR is set', async () => {
      const out = await watch(true, [], { NO_COLOR: '1' });
      expect(out).toContain(`${ESC}4A`);
      for (const sgr of ['31m', '32m', '33m', '2m']) expect(out).not.toContain(`${ESC}${sgr}`);
    });

    it.each([
      ['off a terminal', false, []],
      ['with --no-tty on a terminal', true, ['--no-tty']],
    ])('appends plain lines %s, only what changed', async (_, terminal, extra) => {
      const out = await watch(terminal, extra);
      expect(out).not.toContain(ESC);
      expect(out.split('\n').filter((l) => l.startsWith('rollout r1'))).toEqual([
        'rollout r1 (istio-1-25-2): 1-24-5 → 1-25-2   phase Running',
        'rollout r1 (istio-1-25-2): 1-24-5 → 1-25-2   phase Completed',
      ]);
      expect(out.split('\n').filter((l) => l.startsWith('deadline'))).toHaveLength(1);
    });
  });

  it.each([
    [{}, 'trace 0af7651916cd43dd8448eb211c80319c'],
    [
      { MESHWAVE_TRACE_URL: 'http://127.0.0.1:16686/trace' },
      'trace http://127.0.0.1:16686/trace/0af7651916cd43dd8448eb211c80319c',
    ],
    [
      { MESHWAVE_TRACE_URL: 'https://traces.example/explore?trace={traceId}&tab=1' },
      'trace https://traces.example/explore?trace=0af7651916cd43dd8448eb211c80319c&tab=1',
    ],
  ])("status shows the rollout's trace id, as a link when MESHWAVE_TRACE_URL is set (%j)", async (env, line) => {
    const io = newCapturedIo({}, env);
    expect(await runCli(['status', 'r1', ...flags], io)).toBe(0);
    expect(io.out.join('\n').split('\n')).toContain(line);
  });
});
