import { CommandRejectionReason, MessageType, Topic, vmGroupKey, type VmGroupDesiredState } from '@meshwave/contracts';
import { createInMemoryBroker, createInMemoryBus, type IncomingMessage } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { staticBundleCatalog } from '../adapters/bundle-catalog.js';
import { hashToken } from '../runtime/host-token.js';
import { VmBridge } from '../runtime/vm-bridge.js';
import { heldVmProgress } from '../../../../test/support/report-messages.js';

const ENROLL = 'enroll-secret-for-tests';
const SIGNING = { keys: [{ id: 'k1', secret: 'x'.repeat(32) }], activeKeyId: 'k1' };
const sha = (c: string): string => c.repeat(64);

interface Harness {
  bridge: VmBridge;
  store: ReturnType<typeof createInMemoryStore>;
  catalog: ReturnType<typeof staticBundleCatalog>;
  app: FastifyInstance;
  events: IncomingMessage[];
  exporter: InMemorySpanExporter;
  publish: (
    cmd: Partial<VmGroupDesiredState> & { hosts: VmGroupDesiredState['hosts'] },
    traceparent?: string,
  ) => Promise<void>;
  close: () => Promise<void>;
}

async function newHarness(): Promise<Harness> {
  const store = createInMemoryStore();
  const broker = createInMemoryBroker();
  const bus = createInMemoryBus({ broker, source: 'vm-bridge', signing: SIGNING });
  const planner = createInMemoryBus({ broker, source: 'planner', signing: SIGNING });
  const catalog = staticBundleCatalog({
    v1: { url: 'file:///b/v1', sha256: sha('a'), configDigest: 'c1' },
    v2: { url: 'file:///b/v2', sha256: sha('b'), configDigest: 'c2' },
  });
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const bridge = new VmBridge({
    store,
    bus,
    catalog,
    groups: [{ name: 'web', enrollmentTokenSha256: hashToken(ENROLL) }, { name: 'db' }],
    tracer: provider.getTracer('test'),
    settings: { tickMs: 20, leaseTtlMs: 2000, batchTimeoutMs: 60_000 },
  });
  await bridge.start();
  const app = await buildApp({ bridge });
  const events: IncomingMessage[] = [];
  const sub = await planner.subscribe({
    topic: Topic.Events,
    groupId: 'planner',
    fromBeginning: true,
    handler: async (m) => {
      events.push(m);
    },
  });
  let generation = 0;
  return {
    bridge,
    store,
    catalog,
    app,
    events,
    exporter,
    publish: async (cmd, traceparent) => {
      generation++;
      const data: VmGroupDesiredState = {
        rolloutId: 'r1',
        wave: 1,
        generation,
        epoch: 1,
        group: 'web',
        from: 'v1',
        to: 'v2',
        maxUnavailable: 1,
        halted: false,
        ...cmd,
      };
      const msg = {
        topic: Topic.Commands,
        key: vmGroupKey(data.group),
        type: MessageType.VmGroupDesiredState,
        data,
        audience: vmGroupKey(data.group),
      } as const;
      if (traceparent === undefined) await planner.publish([msg]);
      else
        await bridge.handleMessage({
          id: `c${generation}`,
          type: msg.type,
          source: 'planner',
          time: '',
          key: msg.key,
          data,
          traceparent,
          partition: 0,
          offset: '0',
        });
    },
    close: async () => {
      await sub.close();
      await app.close();
      await bridge.stop();
      await planner.close();
      await bus.close();
    },
  };
}

async function register(h: Harness, host: string, token = `token-${host}`, version: string | null = 'v1') {
  return h.app.inject({
    method: 'POST',
    url: '/v1/groups/web/hosts',
    headers: { authorization: `Bearer ${ENROLL}` },
    payload: { host, tokenSha256: hashToken(token), runningVersion: version },
  });
}

async function report(
  h: Harness,
  host: string,
  body: Record<string, unknown>,
  token = `token-${host}`,
  headers: Record<string, string> = {},
) {
  return h.app.inject({
    method: 'POST',
    url: `/v1/hosts/${host}/report`,
    headers: { authorization: `Bearer ${token}`, ...headers },
    payload: { phase: 'idle', healthy: true, ...body },
  });
}

async function desired(h: Harness, host: string, token = `token-${host}`, etag?: string, waitSeconds = 0) {
  return h.app.inject({
    method: 'GET',
    url: `/v1/hosts/${host}/desired?waitSeconds=${waitSeconds}`,
    headers: { authorization: `Bearer ${token}`, ...(etag !== undefined ? { 'if-none-match': etag } : {}) },
  });
}

async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('vm-bridge HTTP API', () => {
  it('enrolls a host with the group token, idempotently, and refuses a second token for the same name', async () => {
    const h = (harness = await newHarness());
    expect((await register(h, 'a')).statusCode).toBe(201);
    expect((await register(h, 'a')).statusCode).toBe(200);
    const clash = await register(h, 'a', 'other-token');
    expect(clash.statusCode).toBe(409);
    expect(clash.json()).toMatchObject({ code: 'HOST_CONFLICT' });
    const noToken = await h.app.inject({
      method: 'POST',
      url: '/v1/groups/web/hosts',
      payload: { host: 'b', tokenSha256: sha('c') },
    });
    expect(noToken.statusCode).toBe(401);
    const closedGroup = await h.app.inject({
      method: 'POST',
      url: '/v1/groups/db/hosts',
      headers: { authorization: `Bearer ${ENROLL}` },
      payload: { host: 'b', tokenSha256: sha('c') },
    });
    expect(closedGroup.statusCode).toBe(401);
  });

  it('removes a host with the group token: its token is refused, it frees its budget, and the name may enroll again with a new token', async () => {
    const h = (harness = await newHarness());
    await register(h, 'a');
    await register(h, 'b');
    const remove = (host: string, token = ENROLL) =>
      h.app.inject({
        method: 'DELETE',
        url: `/v1/groups/web/hosts/${host}`,
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await remove('a', 'token-a')).statusCode).toBe(401); // a host's own token may not remove
    const removed = await remove('a');
    expect(removed.statusCode).toBe(200);
    expect(removed.json()).toEqual({ host: 'a', group: 'web', result: 'removed' });
    expect((await remove('a')).json()).toMatchObject({ result: 'absent' });
    expect((await desired(h, 'a')).statusCode).toBe(401);
    expect((await desired(h, 'b')).statusCode).toBe(200);
    expect((await register(h, 'a', 'new-token-a')).statusCode).toBe(201);
    expect((await desired(h, 'a', 'new-token-a')).statusCode).toBe(200);
    // the removal is audited
    const audit = await h.store.readAudit({ scope: vmGroupKey('web') });
    expect(audit.map((e) => e.action)).toContain('remove-host');
  });

  it("lets a host read and report only for itself: another host's token gets 403, an unknown one 401", async () => {
    const h = (harness = await newHarness());
    await register(h, 'a');
    await register(h, 'b');
    expect((await desired(h, 'a')).statusCode).toBe(200);
    expect((await desired(h, 'a', 'token-b')).statusCode).toBe(403);
    expect((await report(h, 'a', { runningVersion: 'v1' }, 'token-b')).statusCode).toBe(403);
    expect((await desired(h, 'a', 'nobody')).statusCode).toBe(401);
  });

  it('validates report bodies and says which field is wrong', async () => {
    const h = (harness = await newHarness());
    await register(h, 'a');
    const bad = await report(h, 'a', { runningVersion: 'V_1' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain('runningVersion');
  });

  it('answers 304 to a long poll that times out unchanged, and wakes it when the desired version changes', async () => {
    const h = (harness = await newHarness());
    await register(h, 'a');
    await report(h, 'a', { runningVersion: 'v1' });
    const first = await desired(h, 'a');
    expect(first.json()).toMatchObject({ version: 'v1', bundle: { sha256: sha('a') } });
    const etag = first.headers.etag as string;
    expect((await desired(h, 'a', 'token-a', etag, 0)).statusCode).toBe(304);
    const waiting = desired(h, 'a', 'token-a', etag, 30);
    await h.publish({ hosts: [{ name: 'a', version: 'v2' }] });
    const changed = await waiting;
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({
      version: 'v2',
      bundle: { url: 'file:///b/v2', sha256: sha('b'), configDigest: 'c2' },
      assignment: 1,
    });
  });

  it('rolls batches within maxUnavailable, reports progress, and records a span per batch in the wave trace', async () => {
    const h = (harness = await newHarness());
    for (const host of ['a', 'b', 'c']) {
      await register(h, host);
      await report(h, host, { runningVersion: 'v1' });
    }
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await h.publish({ hosts: ['a', 'b', 'c'].map((name) => ({ name, version: 'v2' })) }, traceparent);
    for (const host of ['a', 'b', 'c']) {
      await until(async () => (await desired(h, host)).json().version === 'v2', `${host} told v2`);
      const moving = (await h.bridge.snapshot('web')).hosts.filter(
        (x) => x.desiredVersion !== x.report?.runningVersion,
      );
      expect(moving.map((x) => x.name)).toEqual([host]);
      // the host is handed the command's trace context with the version, and reports under it
      const told = (await desired(h, host)).json<{ traceparent?: string }>();
      expect(told.traceparent).toBe(traceparent);
      const hostSpan = `00-0af7651916cd43dd8448eb211c80319c-${host.repeat(16)}-01`;
      await report(h, host, { runningVersion: 'v2', assignment: 1 }, undefined, { traceparent: hostSpan });
    }
    const served = h.exporter.getFinishedSpans().filter((s) => s.name === 'POST /v1/hosts/:host/report');
    expect(served.map((s) => s.parentSpanContext?.spanId)).toEqual(['a', 'b', 'c'].map((x) => x.repeat(16)));
    expect(served.every((s) => s.spanContext().traceId === '0af7651916cd43dd8448eb211c80319c')).toBe(true);
    await until(
      async () => (await h.bridge.snapshot('web')).hosts.every((x) => x.state === 'converged'),
      'all converged',
    );
    const spans = h.exporter.getFinishedSpans().filter((s) => s.name === 'vm batch web');
    expect(spans).toHaveLength(3);
    expect(spans.every((s) => s.spanContext().traceId === '0af7651916cd43dd8448eb211c80319c')).toBe(true);
    await until(() => heldVmProgress(h.events).some((p) => p.hosts.every((x) => x.version === 'v2')), 'progress');
    const metrics = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('meshwave_vm_batches_total{group="web",outcome="succeeded"} 3');
  });

  it('reverts a failing batch, halts the group and tells the planner why', async () => {
    const h = (harness = await newHarness());
    for (const host of ['a', 'b']) {
      await register(h, host);
      await report(h, host, { runningVersion: 'v1' });
    }
    await h.publish({ hosts: ['a', 'b'].map((name) => ({ name, version: 'v2' })) });
    await until(async () => (await desired(h, 'a')).json().version === 'v2', 'a told v2');
    await report(h, 'a', {
      runningVersion: 'v1',
      failedVersion: 'v2',
      lastError: 'readiness probe failed: 503',
      assignment: 1,
    });
    await until(async () => (await desired(h, 'a')).json().version === 'v1', 'a reverted');
    expect((await desired(h, 'b')).json().version).toBe('v1');
    await until(() => heldVmProgress(h.events).some((p) => p.halted), 'halted progress');
    const halted = heldVmProgress(h.events).at(-1);
    expect(halted?.reason).toContain('host a could not run v2: readiness probe failed: 503');
  });

  it('refuses a command from an older epoch or generation and reports the rejection', async () => {
    const h = (harness = await newHarness());
    await register(h, 'a');
    await h.publish({ hosts: [{ name: 'a', version: 'v2' }], epoch: 5 });
    await h.publish({ hosts: [{ name: 'a', version: 'v1' }], epoch: 4 });
    await until(() => h.events.some((e) => e.type === MessageType.CommandRejected), 'rejection');
    expect(h.events.find((e) => e.type === MessageType.CommandRejected)?.data).toMatchObject({
      reason: CommandRejectionReason.StaleEpoch,
      source: 'vm-bridge/web',
    });
    expect((await h.bridge.snapshot('web')).group.command?.targets).toEqual({ a: 'v2' });
  });

  it("learns a new leader's epoch from a halt it already applied, and refuses the deposed leader's commands after", async () => {
    const h = (harness = await newHarness());
    await register(h, 'a');
    await h.publish({ hosts: [{ name: 'a', version: 'v2' }] });
    const halt = { rolloutId: 'r1', wave: 1, generation: 2, epoch: 1, target: 'vmgroup/web', reason: 'gate failed' };
    expect(await h.bridge.applyHalt(halt)).toEqual({ result: 'applied' });
    expect(await h.bridge.applyHalt({ ...halt, epoch: 3 })).toEqual({ result: 'duplicate' });
    await h.publish({ hosts: [{ name: 'a', version: 'v1' }], epoch: 2 });
    await until(() => h.events.some((e) => e.type === MessageType.CommandRejected), 'rejection');
    expect(h.events.find((e) => e.type === MessageType.CommandRejected)?.data).toMatchObject({
      reason: CommandRejectionReason.StaleEpoch,
    });
  });

  it('halts at once on a halt command: the batch in flight finishes, no new batch starts', async () => {
    const h = (harness = await newHarness());
    for (const host of ['a', 'b']) {
      await register(h, host);
      await report(h, host, { runningVersion: 'v1' });
    }
    await h.publish({ hosts: ['a', 'b'].map((name) => ({ name, version: 'v2' })) });
    await until(async () => (await desired(h, 'a')).json().version === 'v2', 'a told v2');
    const outcome = await h.bridge.applyHalt({
      rolloutId: 'r1',
      wave: 1,
      generation: 2,
      epoch: 1,
      target: 'vmgroup/web',
      reason: 'gate failed',
    });
    expect(outcome).toEqual({ result: 'applied' });
    await report(h, 'a', { runningVersion: 'v2', assignment: 1 });
    await until(async () => (await h.bridge.snapshot('web')).group.batch === undefined, 'batch done');
    const { group, hosts } = await h.bridge.snapshot('web');
    expect(group).toMatchObject({ halted: true, haltReason: 'halted by planner: gate failed' });
    expect(hosts.find((x) => x.name === 'b')?.desiredVersion).toBe('v1');
  });

  it('resumes mid-batch after a restart: a new bridge on the same store takes over the lease and continues', async () => {
    const h = (harness = await newHarness());
    for (const host of ['a', 'b']) {
      await register(h, host);
      await report(h, host, { runningVersion: 'v1' });
    }
    await h.publish({ hosts: ['a', 'b'].map((name) => ({ name, version: 'v2' })) });
    await until(async () => (await desired(h, 'a')).json().version === 'v2', 'a told v2');
    await h.bridge.abandon();
    const second = new VmBridge({
      store: h.store,
      catalog: h.catalog,
      groups: [{ name: 'web', enrollmentTokenSha256: hashToken(ENROLL) }],
      settings: { tickMs: 20, leaseTtlMs: 300 },
    });
    await second.start();
    try {
      await second.report('a', { runningVersion: 'v2', healthy: true, phase: 'idle', assignment: 1 });
      await until(
        async () => (await second.snapshot('web')).hosts.find((x) => x.name === 'b')?.desiredVersion === 'v2',
        'b told v2',
      );
      expect((await second.snapshot('web')).group.batchesStarted).toBe(2);
    } finally {
      await second.stop();
    }
  });

  it('serves /healthz while it holds the lease', async () => {
    const h = (harness = await newHarness());
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
