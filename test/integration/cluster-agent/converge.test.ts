// The cluster agent against a real kube-apiserver (kwok pods, the Istio injector double), real Kafka and real
// Redis, running with exactly the RBAC the Helm chart grants it.
import { afterEach, describe, expect, it } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import { UnitFailureReason, UnitState, clusterKey } from '@meshwave/contracts';
import { MeshwaveAnnotation } from '@meshwave/cluster-agent';
import { loadTestEnv } from '../../support/env.ts';
import { newAgentHarness, watchConcurrentRestarts, type AgentHarness } from './agent-harness.ts';
import {
  NEW,
  OLD,
  eventually,
  newIstiod,
  newNamespace,
  newWorkload,
  restartMarks,
  setPaused,
  uniqueName,
  type AdminClients,
} from './fixtures.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;

const harnesses: AgentHarness[] = [];
const namespaces: { admin: AdminClients; name: string }[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
  await Promise.all(
    namespaces.splice(0).map(({ admin, name }) => admin.core.deleteNamespace({ name }).catch(() => undefined)),
  );
});

async function newHarness(maxUnavailable = 1): Promise<AgentHarness> {
  const h = await newAgentHarness(env, cluster, { maxUnavailable });
  harnesses.push(h);
  return h;
}

/** Namespaces on the old revision, each with `perNamespace` Deployments of 2 replicas. */
async function givenNamespacesOnOld(
  h: AgentHarness,
  count: number,
  perNamespace = 1,
  labels: Record<string, string> = { 'istio.io/rev': OLD },
): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const ns = uniqueName(`team${i}`);
    await newNamespace(h.admin, ns, labels);
    namespaces.push({ admin: h.admin, name: ns });
    for (let j = 0; j < perNamespace; j++)
      await newWorkload(h.admin, { namespace: ns, kind: 'Deployment', name: `app${j}`, replicas: 2 });
    names.push(ns);
  }
  for (const ns of names) await eventually(`${ns} running on ${OLD}`, () => podsOn(h.admin, ns, OLD, perNamespace * 2));
  return names;
}

const sidecarRevision = (p: k8s.V1Pod): string | undefined => {
  const s = p.metadata?.annotations?.['sidecar.istio.io/status'];
  return s ? (JSON.parse(s) as { revision: string }).revision : undefined;
};
const ready = (p: k8s.V1Pod): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

async function podsOn(admin: AdminClients, ns: string, rev: string, count: number): Promise<boolean> {
  const pods = (await admin.core.listNamespacedPod({ namespace: ns })).items.filter(
    (p) => !p.metadata?.deletionTimestamp,
  );
  const proxy = `docker.io/istio/proxyv2:${rev.replaceAll('-', '.')}`;
  return (
    pods.length === count &&
    pods.every(
      (p) =>
        ready(p) &&
        sidecarRevision(p) === rev &&
        p.spec?.containers.some((c) => c.name === 'istio-proxy' && c.image === proxy),
    )
  );
}

const unitStates = (h: AgentHarness): Record<string, string> =>
  Object.fromEntries((h.agent?.units() ?? []).map((u) => [u.key, u.state]));
const allIn = (h: AgentHarness, keys: readonly string[], state: string): boolean =>
  keys.every((k) => unitStates(h)[k] === state);

/** The namespaces whose app0 carries the agent's restart mark for 1-25-2, read from the apiserver. */
async function restartedFor(admin: AdminClients, names: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const ns of names) if ((await restartMarks(admin, ns, 'app0')).restartedFor === NEW) out.push(ns);
  return out;
}

/** The first progress report the agent sent once halted (events only accumulate: once there, it stays). */
const haltedReport = (h: AgentHarness): { units: { namespace: string; state: string }[] } | undefined =>
  h.events
    .map((e) => e.data as { halted?: boolean; units?: { namespace: string; state: string }[] })
    .find((d): d is { halted: true; units: { namespace: string; state: string }[] } => d.halted === true && !!d.units);

describe('cluster agent on a real apiserver, with the chart RBAC identity', () => {
  it('Given three namespaces on 1-24-5, When the desired state moves them to 1-25-2 with maxUnavailable 1, Then pods come back with the 1-25-2 sidecar and never more than one namespace rolls at once', async () => {
    const h = await newHarness(1);
    const names = await givenNamespacesOnOld(h, 3);
    const observer = watchConcurrentRestarts(cluster, names);
    try {
      await h.startAgent();
      await h.send({ units: names.map((namespace) => ({ namespace, revision: NEW })) });
      await eventually('all three converged', async () => allIn(h, names, UnitState.Converged), 110_000);
      for (const ns of names) expect(await podsOn(h.admin, ns, NEW, 2)).toBe(true);
      for (const ns of names)
        expect((await h.admin.core.readNamespace({ name: ns })).metadata?.labels?.['istio.io/rev']).toBe(NEW);
      expect(observer.max()).toBe(1);
      await eventually(
        'progress reported converged',
        async () => h.lastProgress()?.units.filter((u) => u.state === UnitState.Converged).length === 3,
      );
    } finally {
      observer.stop();
    }
  });

  it('Given a wave in flight, When it is halted, Then nothing new starts and the in-flight unit is reported; When failed back, Then pods return to 1-24-5', async () => {
    const h = await newHarness(1);
    const names = await givenNamespacesOnOld(h, 4);
    // Paused, the restarted Deployment cannot finish: the wave stays in flight until the test resumes it.
    await setPaused(h.admin, names, 'app0', true);
    await h.startAgent();
    const gen = await h.send({ units: names.map((namespace) => ({ namespace, revision: NEW })) });
    await eventually('a restart written', async () => (await restartedFor(h.admin, names)).length > 0);
    await h.halt(gen + 1);
    // The first halted report says what was started (in flight or done) when the halt took effect.
    await eventually('halt reported', async () => haltedReport(h) !== undefined);
    const started = new Set(
      (haltedReport(h)?.units ?? []).filter((u) => u.state !== UnitState.Pending).map((u) => u.namespace),
    );
    expect([...started].sort()).toEqual((await restartedFor(h.admin, names)).sort());
    expect(started.size).toBe(1); // as maxUnavailable 1 allows
    await setPaused(h.admin, names, 'app0', false);
    // What was in flight finishes; halted, the agent starts nothing else.
    await eventually('the in-flight unit converged', async () => {
      for (const ns of started) if (!(await podsOn(h.admin, ns, NEW, 2))) return false;
      return allIn(h, [...started], UnitState.Converged);
    });
    expect((await restartedFor(h.admin, names)).sort()).toEqual([...started].sort());
    const states = unitStates(h);
    for (const ns of names) {
      if (started.has(ns)) continue;
      expect(states[ns]).toBe(UnitState.Pending);
      expect(await podsOn(h.admin, ns, OLD, 2)).toBe(true);
    }

    // Failback: the same path to the old revision, for the units that moved.
    await h.send({ generation: gen + 2, units: names.map((namespace) => ({ namespace, revision: OLD })) });
    await eventually('failed back', async () => allIn(h, names, UnitState.Converged), 110_000);
    for (const ns of names) expect(await podsOn(h.admin, ns, OLD, 2)).toBe(true);
    for (const ns of started) expect((await restartMarks(h.admin, ns, 'app0')).restartedFor).toBe(OLD);
  });

  it('Given an applied desired state, When a stale generation, a foreign cluster and a wrong audience arrive, Then each is refused and reported, and nothing changes', async () => {
    const h = await newHarness(1);
    const [ns] = await givenNamespacesOnOld(h, 1);
    await h.startAgent();
    const gen = await h.send({ generation: 10, units: [{ namespace: ns!, revision: NEW }] });
    await eventually('converged', async () => allIn(h, [ns!], UnitState.Converged), 110_000);
    const generationBefore = (await h.admin.apps.readNamespacedDeployment({ namespace: ns!, name: 'app0' })).metadata
      ?.generation;
    await h.send({ generation: gen - 1, units: [{ namespace: ns!, revision: OLD }] }).catch(() => undefined);
    await h.sendRaw(
      {
        rolloutId: 'x',
        wave: 0,
        generation: 99,
        epoch: 1,
        cluster: 'other',
        from: OLD,
        to: NEW,
        granularity: 'namespace',
        maxUnavailable: 1,
        units: [{ namespace: ns!, revision: OLD }],
      },
      clusterKey(cluster.name),
    );
    await h.sendRaw(
      {
        rolloutId: 'y',
        wave: 0,
        generation: 99,
        epoch: 1,
        cluster: cluster.name,
        from: OLD,
        to: NEW,
        granularity: 'namespace',
        maxUnavailable: 1,
        units: [{ namespace: ns!, revision: OLD }],
      },
      clusterKey('other'),
    );
    await eventually('three refusals reported', async () => h.rejections().length >= 3);
    expect(new Set(h.rejections())).toEqual(new Set(['stale-generation', 'foreign-cluster', 'wrong-audience']));
    // Each refusal is reported once decided, after which those commands have nothing left to write.
    expect((await h.admin.core.readNamespace({ name: ns! })).metadata?.labels?.['istio.io/rev']).toBe(NEW);
    const d = await h.admin.apps.readNamespacedDeployment({ namespace: ns!, name: 'app0' });
    expect(d.metadata?.generation).toBe(generationBefore);
    expect(await podsOn(h.admin, ns!, NEW, 2)).toBe(true);
  });

  it('Given an agent killed mid-wave, When a new one starts from the same store, Then it finishes the wave without restarting anything twice', async () => {
    const h = await newHarness(2);
    const names = await givenNamespacesOnOld(h, 3);
    // Paused, the two restarted Deployments stay in flight: the kill lands mid-wave on any machine.
    await setPaused(h.admin, names, 'app0', true);
    await h.startAgent();
    await h.send({ units: names.map((namespace) => ({ namespace, revision: NEW })) });
    await eventually('two restarts written', async () => (await restartedFor(h.admin, names)).length === 2);
    const before = new Map<string, string | undefined>();
    for (const ns of await restartedFor(h.admin, names))
      before.set(ns, (await restartMarks(h.admin, ns, 'app0')).restartedAt);
    await h.killAgent();
    await h.startAgent();
    await setPaused(h.admin, names, 'app0', false);
    await eventually('all converged after the restart', async () => {
      for (const ns of names) if (!(await podsOn(h.admin, ns, NEW, 2))) return false;
      return allIn(h, names, UnitState.Converged);
    });
    for (const ns of names) {
      const d = await h.admin.apps.readNamespacedDeployment({ namespace: ns, name: 'app0' });
      // 1 at creation, +1 pause, +1 resume, +1 for the one restart: a second restart would make it 5
      expect(d.metadata?.generation).toBe(4);
      const replicaSets = await h.admin.apps.listNamespacedReplicaSet({ namespace: ns });
      expect(replicaSets.items).toHaveLength(2);
    }
    // the restarts written before the kill are the ones the pods run: none was written again
    for (const [ns, restartedAt] of before)
      expect((await restartMarks(h.admin, ns, 'app0')).restartedAt).toBe(restartedAt);
  });

  it('Given a namespace labelled istio.io/rev=1-24-5, When one of its workloads is moved at workload granularity, Then the label is handed over to the templates, only that workload runs 1-25-2, and no pod is ever created without a sidecar', async () => {
    const h = await newHarness(1);
    const [ns] = await givenNamespacesOnOld(h, 1, 3);
    // An independent observer: any pod of the namespace seen without an injected sidecar is a failure.
    const unmeshed = new Set<string>();
    let observing = true;
    const observer = (async () => {
      while (observing) {
        const pods = await h.admin.core.listNamespacedPod({ namespace: ns! }).catch(() => undefined);
        for (const p of pods?.items ?? []) if (!sidecarRevision(p)) unmeshed.add(p.metadata?.name ?? '?');
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    try {
      await h.startAgent();
      await h.send({
        granularity: 'workload',
        units: [{ namespace: ns!, kind: 'Deployment', name: 'app0', revision: NEW }],
      });
      await eventually(
        'app0 converged',
        async () => allIn(h, [`${ns!}/Deployment/app0`], UnitState.Converged),
        150_000,
      );
    } finally {
      observing = false;
      await observer;
    }
    const namespace = await h.admin.core.readNamespace({ name: ns! });
    expect(namespace.metadata?.labels?.['istio.io/rev']).toBeUndefined();
    expect(namespace.metadata?.labels?.['meshwave.io/handoff-of']).toBe(OLD);
    const pods = (await h.admin.core.listNamespacedPod({ namespace: ns! })).items.filter(
      (p) => !p.metadata?.deletionTimestamp,
    );
    const byApp = (app: string): (string | undefined)[] =>
      pods.filter((p) => p.metadata?.labels?.app === app && ready(p)).map(sidecarRevision);
    expect(byApp('app0')).toEqual([NEW, NEW]);
    expect(byApp('app1')).toEqual([OLD, OLD]);
    expect(byApp('app2')).toEqual([OLD, OLD]);
    for (const name of ['app1', 'app2']) {
      const d = await h.admin.apps.readNamespacedDeployment({ namespace: ns!, name });
      expect(d.spec?.template.metadata?.labels?.['istio.io/rev']).toBe(OLD);
      expect(d.spec?.template.metadata?.annotations?.[MeshwaveAnnotation.HandoffOf]).toBe(OLD);
    }
    const app0 = await h.admin.apps.readNamespacedDeployment({ namespace: ns!, name: 'app0' });
    expect(app0.spec?.template.metadata?.labels?.['istio.io/rev']).toBe(NEW);
    expect(app0.spec?.template.metadata?.annotations?.[MeshwaveAnnotation.RestartedFor]).toBe(NEW);
    expect([...unmeshed]).toEqual([]);
  });

  it('Given a namespace labelled istio-injection=enabled (the default tag on 1-24-5), When one workload moves, Then the templates take over istio.io/rev=default and only that workload runs 1-25-2', async () => {
    const { registerRevisionTag, unregisterRevision } = await import('../../env/injector/registration.ts');
    await registerRevisionTag(cluster, env.injector!, { tag: 'default', revision: OLD });
    try {
      const h = await newHarness(1);
      const [ns] = await givenNamespacesOnOld(h, 1, 2, { 'istio-injection': 'enabled' });
      await h.startAgent();
      await h.send({
        granularity: 'workload',
        units: [{ namespace: ns!, kind: 'Deployment', name: 'app0', revision: NEW }],
      });
      await eventually(
        'app0 converged',
        async () => allIn(h, [`${ns!}/Deployment/app0`], UnitState.Converged),
        150_000,
      );
      const labels = (await h.admin.core.readNamespace({ name: ns! })).metadata?.labels ?? {};
      expect(labels['istio-injection']).toBeUndefined();
      expect(labels['istio.io/rev']).toBeUndefined();
      const app1 = await h.admin.apps.readNamespacedDeployment({ namespace: ns!, name: 'app1' });
      expect(app1.spec?.template.metadata?.labels?.['istio.io/rev']).toBe('default');
      const pods = (await h.admin.core.listNamespacedPod({ namespace: ns! })).items.filter(
        (p) => !p.metadata?.deletionTimestamp && ready(p),
      );
      const revisionsOf = (app: string): (string | undefined)[] =>
        pods.filter((p) => p.metadata?.labels?.app === app).map(sidecarRevision);
      expect(revisionsOf('app0')).toEqual([NEW, NEW]);
      expect(revisionsOf('app1')).toEqual([OLD, OLD]);
    } finally {
      await unregisterRevision(cluster, 'default', { tag: true });
    }
  });

  it('Given a workload whose new revision crash-loops, Then its unit is reported failed with CrashLoopBackOff', async () => {
    const h = await newHarness(1);
    const [ns] = await givenNamespacesOnOld(h, 1);
    const { markRevisionBad, registerRevision, unregisterRevision } =
      await import('../../env/injector/registration.ts');
    await registerRevision(cluster, env.injector!, { revision: '1-26-0' });
    await markRevisionBad(cluster, env.injector!, '1-26-0');
    // its istiod is there and ready (the agent restarts nothing onto a revision without one, ADR 0028)
    await newIstiod(h.admin, '1-26-0', '1.26.0');
    try {
      await h.startAgent();
      await h.send({ to: '1-26-0', units: [{ namespace: ns!, revision: '1-26-0' }] });
      await eventually('failed', async () => unitStates(h)[ns!] === UnitState.Failed, 110_000);
      expect(h.agent?.units()[0]?.reason).toBe(UnitFailureReason.CrashLoop);
      // the old pods keep serving
      const d = await h.admin.apps.readNamespacedDeployment({ namespace: ns!, name: 'app0' });
      expect(d.status?.availableReplicas).toBe(2);
    } finally {
      await unregisterRevision(cluster, '1-26-0');
      await h.admin.apps
        .deleteNamespacedDeployment({ namespace: 'istio-system', name: 'istiod-1-26-0' })
        .catch(() => undefined);
    }
  });
});
