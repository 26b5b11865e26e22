import { createServer, type Server } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import { silentLogger } from '@meshwave/telemetry';
import { afterAll, describe, expect, it } from 'vitest';
import { readPlannerEnv } from '../config/env-config.js';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import { buildApp } from '../http/app.js';
import { createPlanner } from './planner.js';
import { startFailureExitCode, startPlannerService } from './planner-service.js';

/** fastify's default plugin timeout, the one that fired while a busy process started */
const FASTIFY_DEFAULT_PLUGIN_TIMEOUT_MS = 10_000;

/** Blocks the event loop without burning a core (the machine is shared): the thread sleeps, timers wait. */
function blockEventLoop(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };
const env = {
  MESHWAVE_IN_MEMORY: 'true',
  MESHWAVE_HOST: '127.0.0.1',
  MESHWAVE_TOKENS: JSON.stringify([{ name: 'ops', role: 'operator', token: 'a-very-long-operator-token' }]),
};

describe('planner start-up', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it(
    'the API starts while the event loop is blocked for longer than fastify’s plugin timeout',
    async () => {
      // Given the planner's app and a plugin that blocks the loop halfway through its loading
      const planner = createPlanner({
        bus: createInMemoryBus({ broker: createInMemoryBroker(), source: 'planner', signing }),
        store: createInMemoryStore(),
        config: { instanceId: 'busy-start' },
      });
      const app = await buildApp({ planner, tokens: [] });
      void app.register(async () => {
        await nextTurn();
        blockEventLoop(FASTIFY_DEFAULT_PLUGIN_TIMEOUT_MS + 500);
        await nextTurn();
      });
      // When the app loads its plugins, Then it gets ready (before: "Plugin did not start in time")
      await expect(app.ready()).resolves.toBeDefined();
      await app.close();
    },
    FASTIFY_DEFAULT_PLUGIN_TIMEOUT_MS * 3,
  );

  it('a start that fails (the port is taken) rejects, stops what it started, and maps to a non-zero exit', async () => {
    // Given a port someone else listens on
    const taken = createServer();
    servers.push(taken);
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    // When the planner starts on it
    const started = startPlannerService(readPlannerEnv({ ...env, MESHWAVE_PORT: String(port) }), silentLogger());
    // Then the start fails, and the process would exit 1
    const error = await started.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    expect(startFailureExitCode(error)).toBe(1);
  });

  it('a configuration error exits 2, as the other services', () => {
    expect(startFailureExitCode(new PlannerError(PlannerErrorCode.InvalidConfig, 'MESHWAVE_PORT: not a port'))).toBe(2);
  });

  it('the service listens, then starts the engine; stop closes both', async () => {
    const service = await startPlannerService(readPlannerEnv({ ...env, MESHWAVE_PORT: '0' }), silentLogger());
    const res = await fetch(`${service.address}/healthz`);
    expect(res.status).toBeLessThan(500);
    await service.stop();
    await expect(fetch(`${service.address}/healthz`)).rejects.toThrow();
  });
});
