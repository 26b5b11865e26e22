// Failing back after a namespace label handoff (ADR 0011), on a real apiserver with the Istio injector double:
// long after the move (the soak outlasts the progress deadline), a failback must restart every moved workload
// once toward `from`. The handoff mark its template keeps is history, not a restart toward `from` in progress.
import { afterEach, describe, expect, it } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import { UnitState } from '@meshwave/contracts';
import { MeshwaveAnnotation } from '@meshwave/cluster-agent';
import { loadTestEnv } from '../../support/env.ts';
import { newAgentHarness, type AgentHarness } from './agent-harness.ts';
import { NEW, OLD, eventually, newNamespace, newWorkload, uniqueName } from './fixtures.ts';
import { progressUnits } from '../../support/report-messages.js';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;

/**
 * The agent's progress deadline: short, so the test can let it pass, yet long enough for every restart here (two
 * kwok pods each, on a busy machine) to finish within it.
 */
const DEADLINE_SECONDS = 20;
const MOVED = ['app0', 'app1'];
const APPS = [...MOVED, 'app2'];

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const sidecarRevision = (p: k8s.V1Pod): string | undefined => {
  const s = p.metadata?.annotations?.['sidecar.istio.io/status'];
  return s ? (JSON.parse(s) as { revision: string }).revision : undefined;
};
const ready = (p: k8s.V1Pod): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** Every live pod of `app` (exactly `count`) is Ready and carries `rev`'s sidecar, as an admin reads the apiserver. */
async function appOn(h: AgentHarness, ns: string, app: string, rev: string, count = 2): Promise<boolean> {
  const pods = (await h.admin.core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` })).items.filter(
    (p) => !p.metadata?.deletionTimestamp,
  );
  const proxy = `docker.io/istio/proxyv2:${rev.replaceAll('-', '.')}`;
  return (
    pods.length === count &&
    pods.every(
      (p) =>
        ready(p) &&
        sidecarRevision(p) === rev &&
        p.spec?.containers.some((c) => c.name === 'istio-proxy' && c.image === proxy) === true,
    )
  );
}

const unitStates = (h: AgentHarness): Record<string, string> =>
  Object.fromEntries((h.agent?.units() ?? []).map((u) => [u.key, u.state]));

describe('failback after a namespace label handoff', () => {
  it('Given a namespace labelled istio.io/rev=1-24-5 whose workloads moved one by one to 1-25-2, When they are failed back after the progress deadline has passed, Then every workload runs 1-24-5 again with exactly one more restart each', async () => {
    const h = await newAgentHarness(env, cluster, { maxUnavailable: 2, progressDeadlineSeconds: DEADLINE_SECONDS });
    cleanups.push(() => h.close());
    const ns = uniqueName('failback');
    await newNamespace(h.admin, ns, { 'istio.io/rev': OLD });
    cleanups.push(() => h.admin.core.deleteNamespace({ name: ns }));
    for (const name of APPS) await newWorkload(h.admin, { namespace: ns, kind: 'Deployment', name, replicas: 2 });
    for (const app of APPS) await eventually(`${app} on ${OLD}`, () => appOn(h, ns, app, OLD));
    const keys = MOVED.map((name) => `${ns}/Deployment/${name}`);
    const units = (revision: string): { namespace: string; kind: 'Deployment'; name: string; revision: string }[] =>
      MOVED.map((name) => ({ namespace: ns, kind: 'Deployment', name, revision }));
    const deployment = (name: string): Promise<k8s.V1Deployment> =>
      h.admin.apps.readNamespacedDeployment({ namespace: ns, name });

    // Given: the label handed over to the templates, and app0 and app1 moved to 1-25-2.
    await h.startAgent();
    const gen = await h.send({ granularity: 'workload', units: units(NEW) });
    await eventually(
      'moved',
      async () =>
        keys.some((k) => unitStates(h)[k] === UnitState.Failed) ||
        keys.every((k) => unitStates(h)[k] === UnitState.Converged),
      120_000,
    );
    expect(keys.map((k) => unitStates(h)[k])).toEqual(keys.map(() => UnitState.Converged));
    for (const app of MOVED) expect(await appOn(h, ns, app, NEW)).toBe(true);
    const moved = await Promise.all(MOVED.map(deployment));
    for (const d of moved) {
      // the leftover mark of the handoff, under the move's own restart
      expect(d.spec?.template.metadata?.annotations?.[MeshwaveAnnotation.HandoffOf]).toBe(OLD);
      expect(d.spec?.template.metadata?.annotations?.[MeshwaveAnnotation.RestartedFor]).toBe(NEW);
    }
    // ... and more than the progress deadline has passed since the last restart the agent wrote.
    const lastRestartMs = Math.max(
      ...moved.map((d) => Date.parse(d.spec?.template.metadata?.annotations?.[MeshwaveAnnotation.RestartedAt] ?? '')),
    );
    expect(Number.isFinite(lastRestartMs)).toBe(true);
    await new Promise((r) => setTimeout(r, Math.max(0, lastRestartMs + DEADLINE_SECONDS * 1000 + 1_000 - Date.now())));
    const generationBefore = new Map(
      await Promise.all(APPS.map(async (name) => [name, (await deployment(name)).metadata?.generation ?? 0] as const)),
    );
    const failbackSentAt = h.events.length;

    // When: failed back as the planner does it, the rollout's next generation with every unit on `from`.
    await h.send({ generation: gen + 1, granularity: 'workload', units: units(OLD) });
    await eventually(
      'failback settled',
      async () =>
        keys.some((k) => unitStates(h)[k] === UnitState.Failed) ||
        (keys.every((k) => unitStates(h)[k] === UnitState.Converged) &&
          (await Promise.all(MOVED.map((app) => appOn(h, ns, app, OLD)))).every(Boolean)),
      120_000,
    );

    // Then: no unit failed, and an independent read shows every workload on 1-24-5.
    expect(Object.fromEntries(keys.map((k) => [k, h.agent?.units().find((u) => u.key === k)?.reason]))).toEqual(
      Object.fromEntries(keys.map((k) => [k, undefined])),
    );
    expect(keys.map((k) => unitStates(h)[k])).toEqual(keys.map(() => UnitState.Converged));
    const failedReports = h.events
      .slice(failbackSentAt)
      .flatMap(progressUnits)
      .filter((u) => u.state === UnitState.Failed);
    expect(failedReports).toEqual([]);
    for (const app of APPS) expect(await appOn(h, ns, app, OLD)).toBe(true);
    for (const name of MOVED) {
      const d = await deployment(name);
      expect(d.metadata?.labels?.['istio.io/rev']).toBe(OLD);
      expect(d.spec?.template.metadata?.labels?.['istio.io/rev']).toBe(OLD);
      expect(d.spec?.template.metadata?.annotations?.[MeshwaveAnnotation.RestartedFor]).toBe(OLD);
      // exactly one more restart: one template change since the deadline passed
      expect(d.metadata?.generation).toBe(generationBefore.get(name)! + 1);
    }
    // The workload the rollout never moved is not restarted by the failback.
    expect((await deployment('app2')).metadata?.generation).toBe(generationBefore.get('app2'));
  }, 360_000);
});
