// The agent and a cluster's control planes on a real kube-apiserver, with exactly the RBAC the Helm chart grants
// it: it reads istiod Deployments of istio-system (run by kwok) and revision tags registered as `istioctl tag set`
// does, and restarts nothing onto a revision whose istiod is not there (ADR 0028).
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageType, UnitState, UnitWaitReason } from '@meshwave/contracts';
import { createKubernetesClient, type KubernetesClient } from '@meshwave/cluster-agent';
import { registerRevision, registerRevisionTag, unregisterRevision } from '../../env/injector/registration.ts';
import { loadTestEnv } from '../../support/env.ts';
import { newAgentHarness } from './agent-harness.ts';
import { newChartIdentity } from './chart-identity.ts';
import {
  OLD,
  eventually,
  newAdminClients,
  newIstiod,
  newNamespace,
  newWorkload,
  restartMarks,
  uniqueName,
} from './fixtures.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const injector = env.injector;
if (!injector) throw new Error('env.json has no injector: run `node test/env/env.ts up` with clusters');
const admin = newAdminClients(cluster.kubeconfig);

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const deleteIstiod = (revision: string) => () =>
  admin.apps.deleteNamespacedDeployment({ namespace: 'istio-system', name: `istiod-${revision}` });

describe('control planes and revision tags', () => {
  it('Given an istiod of a revision in istio-system and a revision tag, When the agent reads the installation with the chart RBAC, Then it finds both, with version and readiness', async () => {
    const id = randomUUID().slice(0, 8);
    const revision = `cp-${id}`;
    const tag = `tag-${id}`;
    await newIstiod(admin, revision, '1.25.2');
    cleanups.push(deleteIstiod(revision));
    await registerRevisionTag(cluster, injector, { tag, revision: OLD });
    cleanups.push(() => unregisterRevision(cluster, tag, { tag: true }));
    const identity = await newChartIdentity(cluster, admin, `meshwave-cp-${id}`);
    cleanups.push(() => identity.cleanup());
    const kube: KubernetesClient = createKubernetesClient({ kubeconfig: identity.kubeconfig });
    cleanups.push(async () => kube.close());

    await eventually(`istiod-${revision} ready and tag ${tag} seen`, async () => {
      const installation = await kube.readIstioInstallation();
      const plane = installation?.controlPlanes.find((p) => p.revision === revision);
      return plane?.ready === true && installation?.tags[tag] === OLD;
    });
    const installation = await kube.readIstioInstallation();
    expect(installation?.controlPlanes).toContainEqual({
      revision,
      version: '1.25.2',
      ready: true,
      hub: 'docker.io/istio',
    });
    expect(installation?.tags[tag]).toBe(OLD);
  });

  it('Given a revision whose webhook is registered but whose istiod is missing, When the agent is told to move a namespace onto it, Then it restarts nothing and reports ControlPlaneNotReady, and moves it once istiod is ready', async () => {
    const revision = `cp-${randomUUID().slice(0, 8)}`;
    await registerRevision(cluster, injector, { revision, version: '1.25.2' });
    cleanups.push(() => unregisterRevision(cluster, revision));
    const h = await newAgentHarness(env, cluster);
    cleanups.push(() => h.close());
    const ns = uniqueName('cp');
    await newNamespace(h.admin, ns, { 'istio.io/rev': OLD });
    cleanups.push(() => admin.core.deleteNamespace({ name: ns }));
    await newWorkload(h.admin, { namespace: ns, kind: 'Deployment', name: 'app', replicas: 1 });
    await h.startAgent();

    await h.send({ to: revision, units: [{ namespace: ns, revision }] });
    const waiting = await eventually('the unit waits for its control plane', () =>
      h.lastProgress()?.units.find((u) => u.namespace === ns && u.reason === UnitWaitReason.ControlPlaneNotReady),
    );
    expect(waiting).toMatchObject({
      state: UnitState.Pending,
      message: `no istiod of revision ${revision} in istio-system`,
    });
    // the reason is recorded before any write: the namespace kept its label, the workload was not restarted
    expect((await admin.core.readNamespace({ name: ns })).metadata?.labels?.['istio.io/rev']).toBe(OLD);
    expect(await restartMarks(h.admin, ns, 'app')).toEqual({});

    await newIstiod(admin, revision, '1.25.2');
    cleanups.push(deleteIstiod(revision));
    await eventually(`the namespace converged onto ${revision}`, () =>
      h.lastProgress()?.units.some((u) => u.namespace === ns && u.state === UnitState.Converged),
    );
  });

  it("Given a wave converged onto a revision, When that revision's injection webhook is deleted by hand and the next wave is sent, Then the agent restarts nothing more and reports ControlPlaneNotReady at once, not after its cache window", async () => {
    const revision = `wh-${randomUUID().slice(0, 8)}`;
    await registerRevision(cluster, injector, { revision, version: '1.25.2' });
    cleanups.push(() => unregisterRevision(cluster, revision));
    await newIstiod(admin, revision, '1.25.2');
    cleanups.push(deleteIstiod(revision));
    // the agent trusts a control plane it found ready for resyncMs: an hour here, so only its watch of the
    // webhook configurations can explain that it sees the webhook gone
    const h = await newAgentHarness(env, cluster, { resyncMs: 3_600_000 });
    cleanups.push(() => h.close());
    const [first, second] = [uniqueName('wh'), uniqueName('wh')];
    for (const ns of [first, second]) {
      await newNamespace(h.admin, ns, { 'istio.io/rev': OLD });
      cleanups.push(() => admin.core.deleteNamespace({ name: ns }));
      await newWorkload(h.admin, { namespace: ns, kind: 'Deployment', name: 'app', replicas: 1 });
    }
    await h.startAgent();
    await h.send({ to: revision, units: [{ namespace: first, revision }] });
    await eventually(`the first wave converged onto ${revision}`, () =>
      h.lastProgress()?.units.some((u) => u.namespace === first && u.state === UnitState.Converged),
    );

    // When: the revision's webhook is deleted by hand, then the second wave comes (cumulative desired state). A tag
    // registered after the deletion, once reported, proves the agent saw the deletion before the command (one
    // watch stream, in order); before the watch nothing made the agent read the installation again.
    await unregisterRevision(cluster, revision);
    const probe = `${revision}-seen`;
    await registerRevisionTag(cluster, injector, { tag: probe, revision: OLD });
    cleanups.push(() => unregisterRevision(cluster, probe, { tag: true }));
    await eventually('the agent reported the tag registered after the deletion', () =>
      h.events.some(
        (e) =>
          (e.type === MessageType.Inventory || e.type === MessageType.InventoryDelta) &&
          (e.data as { tags?: Record<string, string> }).tags?.[probe] === OLD,
      ),
    );
    await h.send({
      to: revision,
      units: [
        { namespace: first, revision },
        { namespace: second, revision },
      ],
    });

    // Then: the second namespace waits, saying why, and was neither relabelled nor restarted
    const waiting = await eventually('the second wave waits for its control plane', () =>
      h.lastProgress()?.units.find((u) => u.namespace === second && u.reason === UnitWaitReason.ControlPlaneNotReady),
    );
    expect(waiting).toMatchObject({
      state: UnitState.Pending,
      message: `the injection webhook of revision ${revision} is not registered`,
    });
    expect((await admin.core.readNamespace({ name: second })).metadata?.labels?.['istio.io/rev']).toBe(OLD);
    expect(await restartMarks(h.admin, second, 'app')).toEqual({});
  });
});
