// A real planner (Kafka on an agent harness's topics, an in-memory store) serving its API on a free port, for the
// tests where the planner and a real cluster-agent work together on a real apiserver.
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { createKafkaBus } from '@meshwave/bus';
import { buildApp, createPlanner, hashTokens, type Planner } from '@meshwave/planner';
import { createInMemoryStore } from '@meshwave/store';
import type { TestEnv } from '../../support/env.ts';
import type { AgentHarness } from './agent-harness.ts';
import { eventually } from './fixtures.ts';

/** The harness's (HMAC) signing keys: the planner's commands must verify at the harness's agent. */
const SIGNING = { keys: [{ id: 'it', secret: 'integration-test-signing-key-0123456789' }], activeKeyId: 'it' };
export const PLANNER_TOKEN = 'harness-planner-token';

export interface HarnessPlanner {
  readonly planner: Planner;
  readonly url: string;
  /** an API call with the admin token; JSON in and out */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

/** A leading planner on `h`'s topics; its events group is its own, so it reads every report the agent sent. */
export async function newHarnessPlanner(env: TestEnv, h: AgentHarness): Promise<HarnessPlanner> {
  const id = randomUUID().slice(0, 8);
  const bus = createKafkaBus({
    brokers: env.kafka.brokers,
    source: 'planner',
    signing: SIGNING,
    topicNames: h.topicNames,
    clientId: `planner-${id}`,
  });
  const planner = createPlanner({
    bus,
    store: createInMemoryStore(),
    config: { instanceId: `it-${id}`, leaseRenewMs: 50, leaseTtlMs: 5000, eventsGroupId: `it-planner-${id}` },
  });
  await planner.start();
  await eventually('the planner leads', () => Promise.resolve(planner.isLeader()));
  const app = await buildApp({ planner, tokens: hashTokens([{ name: 'sre', role: 'admin', token: PLANNER_TOKEN }]) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    planner,
    url,
    async api<T>(method: string, path: string, body?: unknown) {
      const yaml = typeof body === 'string';
      const r = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${PLANNER_TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': yaml ? 'application/yaml' : 'application/json' }),
        },
        ...(body === undefined ? {} : { body: yaml ? body : JSON.stringify(body) }),
      });
      const text = await r.text();
      return { status: r.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
    },
    async close() {
      await app.close();
      await planner.stop();
      await bus.close();
    },
  };
}
