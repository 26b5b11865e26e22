import type { WorkloadKind } from '@meshwave/contracts';
import { ClusterAgentError, ClusterAgentErrorCode } from '../errors.js';
import type { KubernetesPort, Labels, PodView, WatchEvent, WorkloadView } from './kubernetes-port.js';
import { IstioLabel, PROXY_CONTAINER, imageTag, injectedRevisionOf, proxyVersionOfRevision } from '@meshwave/istio';

/**
 * The port's scenario suite: what any `KubernetesPort` must do, run against the simulated cluster (unit tests)
 * and against real apiservers with the injector double (integration tests). Scenarios are plain async
 * functions that throw on failure, so both test files wrap them in `it` without this package depending on a
 * test runner.
 */
export interface PortScenarioFixture {
  readonly port: KubernetesPort;
  /** revisions whose injectors run in the cluster: [old, new] */
  readonly revisions: readonly [string, string];
  /** a name no other scenario uses (real apiservers keep objects between scenarios) */
  uniqueName(prefix: string): string;
  createNamespace(name: string, labels?: Labels): Promise<void>;
  createWorkload(spec: {
    namespace: string;
    kind: WorkloadKind;
    name: string;
    replicas: number;
    templateLabels?: Labels;
  }): Promise<void>;
  createBarePod(namespace: string, name: string, labels?: Labels): Promise<void>;
  /** waits until `check` holds, moving simulated time or polling a real cluster; throws with `what` when it never does */
  eventually(what: string, check: () => Promise<boolean>): Promise<void>;
}

export interface PortScenario {
  readonly name: string;
  run(f: PortScenarioFixture): Promise<void>;
}

class ScenarioFailure extends Error {
  override readonly name = 'ScenarioFailure';
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ScenarioFailure(message);
}

async function expectError(code: ClusterAgentErrorCode, fn: () => Promise<unknown>, what: string): Promise<void> {
  try {
    await fn();
  } catch (err) {
    check(err instanceof ClusterAgentError && err.code === code, `${what}: expected ${code}, got ${String(err)}`);
    return;
  }
  throw new ScenarioFailure(`${what}: expected ${code}, but it succeeded`);
}

const workloadPods = (pods: readonly PodView[], w: WorkloadView): PodView[] =>
  pods.filter((p) => p.controlled && !p.terminating && Object.entries(w.selector).every(([k, v]) => p.labels[k] === v));

const rolledOut = (w: WorkloadView | undefined): boolean =>
  w !== undefined &&
  w.observedGeneration >= w.generation &&
  w.updatedReplicas >= w.replicas &&
  w.availableReplicas >= w.replicas;

export const kubernetesPortScenarios: readonly PortScenario[] = [
  {
    name: 'relabels a namespace with a merge patch and removes the conflicting istio-injection label',
    async run(f) {
      const ns = f.uniqueName('relabel');
      await f.createNamespace(ns, { [IstioLabel.Injection]: 'enabled', team: 'a' });
      const patched = await f.port.patchNamespace(ns, {
        labels: { [IstioLabel.Revision]: f.revisions[1], [IstioLabel.Injection]: null },
      });
      check(patched.labels[IstioLabel.Revision] === f.revisions[1], 'istio.io/rev is set');
      check(!(IstioLabel.Injection in patched.labels), 'istio-injection is removed');
      check(patched.labels.team === 'a', 'other labels stay');
      const listed = (await f.port.listNamespaces()).find((n) => n.name === ns);
      check(listed?.labels[IstioLabel.Revision] === f.revisions[1], 'the list shows the new label');
    },
  },
  {
    name: 'refuses a write based on a stale resourceVersion with Conflict',
    async run(f) {
      const ns = f.uniqueName('stale');
      await f.createNamespace(ns);
      const before = (await f.port.listNamespaces()).find((n) => n.name === ns);
      check(before !== undefined, 'namespace listed');
      await f.port.patchNamespace(ns, { labels: { step: '1' } }, { resourceVersion: before.resourceVersion });
      await expectError(
        ClusterAgentErrorCode.Conflict,
        () => f.port.patchNamespace(ns, { labels: { step: '2' } }, { resourceVersion: before.resourceVersion }),
        'second write on the old version',
      );
    },
  },
  {
    name: 'reports NotFound for a missing workload and undefined from get',
    async run(f) {
      const ns = f.uniqueName('missing');
      await f.createNamespace(ns);
      const ref = { namespace: ns, kind: 'Deployment', name: 'nope' } as const;
      check((await f.port.getWorkload(ref)) === undefined, 'get returns undefined');
      await expectError(
        ClusterAgentErrorCode.NotFound,
        () => f.port.patchWorkload(ref, { labels: { a: 'b' } }),
        'patch of a missing workload',
      );
    },
  },
  {
    name: 'restarting a Deployment replaces its pods, which the injector of the namespace revision injects',
    async run(f) {
      const [oldRev, newRev] = f.revisions;
      const ns = f.uniqueName('restart');
      await f.createNamespace(ns, { [IstioLabel.Revision]: oldRev });
      await f.createWorkload({ namespace: ns, kind: 'Deployment', name: 'web', replicas: 2 });
      const ref = { namespace: ns, kind: 'Deployment', name: 'web' } as const;
      await f.eventually('web runs 2 pods on the old revision', async () => {
        const w = await f.port.getWorkload(ref);
        const pods = w ? workloadPods(await f.port.listPods(ns), w) : [];
        return (
          rolledOut(w) &&
          pods.length === 2 &&
          pods.every((p) => p.ready && injectedRevisionOf(p.annotations) === oldRev)
        );
      });
      const before = await f.port.getWorkload(ref);
      check(before !== undefined, 'workload exists');
      await f.port.patchNamespace(ns, { labels: { [IstioLabel.Revision]: newRev } });
      const stamp = '2026-01-01T00:00:00Z';
      const after = await f.port.patchWorkload(
        ref,
        { templateAnnotations: { 'kubectl.kubernetes.io/restartedAt': stamp } },
        { resourceVersion: before.resourceVersion },
      );
      check(after.generation > before.generation, 'a template change bumps the generation');
      check(
        after.templateAnnotations['kubectl.kubernetes.io/restartedAt'] === stamp,
        'the annotation is on the template',
      );
      await f.eventually('web runs 2 Ready pods with the new sidecar', async () => {
        const w = await f.port.getWorkload(ref);
        if (!rolledOut(w) || !w) return false;
        const pods = workloadPods(await f.port.listPods(ns), w);
        return pods.length === 2 && pods.every((p) => p.ready && injectedRevisionOf(p.annotations) === newRev);
      });
      const w = await f.port.getWorkload(ref);
      const pods = w ? workloadPods(await f.port.listPods(ns), w) : [];
      const version = proxyVersionOfRevision(newRev);
      for (const p of pods) {
        const proxy = p.containers.find((c) => c.name === PROXY_CONTAINER);
        check(proxy !== undefined, `${p.name} has an istio-proxy container`);
        if (version) check(imageTag(proxy.image) === version, `${p.name} runs proxy ${version}, not ${proxy.image}`);
      }
    },
  },
  {
    name: 'a template label pins a StatefulSet to a revision when the namespace has none',
    async run(f) {
      const [, newRev] = f.revisions;
      const ns = f.uniqueName('pin');
      await f.createNamespace(ns);
      await f.createWorkload({ namespace: ns, kind: 'StatefulSet', name: 'db', replicas: 1 });
      const ref = { namespace: ns, kind: 'StatefulSet', name: 'db' } as const;
      await f.eventually('db is running', async () => rolledOut(await f.port.getWorkload(ref)));
      const after = await f.port.patchWorkload(ref, {
        labels: { [IstioLabel.Revision]: newRev },
        templateLabels: { [IstioLabel.Revision]: newRev },
      });
      check(
        after.labels[IstioLabel.Revision] === newRev && after.templateLabels[IstioLabel.Revision] === newRev,
        'both labels set',
      );
      await f.eventually('db pod carries the new sidecar', async () => {
        const w = await f.port.getWorkload(ref);
        if (!rolledOut(w) || !w) return false;
        const pods = workloadPods(await f.port.listPods(ns), w);
        return pods.length === 1 && pods.every((p) => p.ready && injectedRevisionOf(p.annotations) === newRev);
      });
    },
  },
  {
    name: 'a watch starts with a resync of what exists and then reports changes',
    async run(f) {
      const ns = f.uniqueName('watch');
      await f.createNamespace(ns);
      const events: WatchEvent<{ name: string; labels: Labels }>[] = [];
      const handle = f.port.watch('namespaces', (e) => events.push(e));
      try {
        await f.eventually('the resync arrives', async () =>
          events.some((e) => e.type === 'resync' && e.objects.some((o) => o.name === ns)),
        );
        await f.port.patchNamespace(ns, { labels: { watched: 'yes' } });
        await f.eventually('the change arrives', async () =>
          events.some((e) => e.type === 'upsert' && e.object.name === ns && e.object.labels.watched === 'yes'),
        );
      } finally {
        handle.stop();
      }
    },
  },
  {
    name: 'lists a bare pod as not controlled',
    async run(f) {
      const ns = f.uniqueName('bare');
      await f.createNamespace(ns);
      await f.createBarePod(ns, 'lonely', { app: 'lonely' });
      await f.eventually('the bare pod is listed', async () =>
        (await f.port.listPods(ns)).some((p) => p.name === 'lonely' && !p.controlled),
      );
    },
  },
  {
    name: 'leases are created once and replaced only at the version read',
    async run(f) {
      const ns = f.uniqueName('lease');
      await f.createNamespace(ns);
      const now = '2026-01-01T00:00:00.000000Z';
      const spec = {
        namespace: ns,
        name: 'agent',
        holderIdentity: 'a',
        leaseDurationSeconds: 15,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: 0,
      };
      check((await f.port.getLease(ns, 'agent')) === undefined, 'no lease yet');
      const created = await f.port.createLease(spec);
      await expectError(
        ClusterAgentErrorCode.Conflict,
        () => f.port.createLease({ ...spec, holderIdentity: 'b' }),
        'second create',
      );
      const replaced = await f.port.replaceLease({ ...created, holderIdentity: 'b', leaseTransitions: 1 });
      check(replaced.holderIdentity === 'b', 'holder changed');
      await expectError(
        ClusterAgentErrorCode.Conflict,
        () => f.port.replaceLease({ ...created, holderIdentity: 'c' }),
        'replace at the old version',
      );
      const read = await f.port.getLease(ns, 'agent');
      check(read?.holderIdentity === 'b' && read.leaseTransitions === 1, 'the lease reads back');
    },
  },
];
