// A tag move on a real kube-apiserver (ADR 0035), with exactly the RBAC the Helm chart grants for
// `revisionTags={<tag>}`: the agent points the tag's `istio-revision-tag-<tag>` webhook at `to` as
// `istioctl tag set --overwrite` does (the revision's injection clientConfig), restarts the tag's workloads, and
// never writes a label; a failback points the tag back and restarts what moved. The injector double serves the
// tag through whatever clientConfig the webhook carries, so the pods' sidecars say which revision injected them.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { UnitState, UnitWaitReason } from '@meshwave/contracts';
import { injectedRevisionOf } from '@meshwave/istio';
import { registerRevision, registerRevisionTag, unregisterRevision } from '../../env/injector/registration.ts';
import { kubeRequest } from '../../env/lib/kube-api.ts';
import { loadTestEnv } from '../../support/env.ts';
import { newAgentHarness, type AgentHarness } from './agent-harness.ts';
import { NEW, OLD, eventually, newIstiod, newNamespace, newWorkload, restartMarks } from './fixtures.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const injector = env.injector;
if (!injector) throw new Error('env.json has no injector: run `node test/env/env.ts up` with clusters');

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const tagWebhook = async (tag: string): Promise<{ rev: string; url: string[] }> => {
  const r = await kubeRequest(
    cluster,
    'GET',
    `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-revision-tag-${tag}`,
  );
  if (r.status !== 200) throw new Error(`tag ${tag}: ${r.status}`);
  const body = r.body as {
    metadata: { labels: Record<string, string> };
    webhooks: { clientConfig: { url: string } }[];
  };
  return { rev: body.metadata.labels['istio.io/rev']!, url: body.webhooks.map((w) => w.clientConfig.url) };
};

/** The revisions injected into the live pods of the namespace (sorted, repeated per pod). */
const podRevisions = async (h: AgentHarness, namespace: string): Promise<(string | null)[]> => {
  const pods = await h.admin.core.listNamespacedPod({ namespace });
  return pods.items
    .filter((p) => p.metadata?.deletionTimestamp === undefined)
    .map((p) => injectedRevisionOf(p.metadata?.annotations as Record<string, string> | undefined))
    .sort();
};

/** the unit reported converged with its pods on `revision` (its assigned revision is the tag, as labelled) */
const convergedOn = (h: AgentHarness, namespace: string, revision: string): boolean =>
  h
    .lastProgress()
    ?.units.some(
      (u) => u.namespace === namespace && u.state === UnitState.Converged && u.injectedRevision === revision,
    ) === true;

describe('moving a revision tag', () => {
  it('Given a namespace labelled with a tag pointing at the old revision, When the agent moves the tag to the new one and fails back, Then the tag webhook points at each in turn, the pods follow, and no label changes', async () => {
    const tag = `tag-${randomUUID().slice(0, 8)}`;
    await registerRevisionTag(cluster, injector, { tag, revision: OLD });
    cleanups.push(() => unregisterRevision(cluster, tag, { tag: true }));
    const h = await newAgentHarness(env, cluster, { chartValues: [`revisionTags={${tag}}`] });
    cleanups.push(() => h.close());
    const ns = `ns-${tag}`;
    await newNamespace(h.admin, ns, { 'istio.io/rev': tag });
    cleanups.push(() => h.admin.core.deleteNamespace({ name: ns }));
    await newWorkload(h.admin, { namespace: ns, kind: 'Deployment', name: 'app', replicas: 2 });
    await eventually(
      'the tag injected the old revision',
      async () => (await podRevisions(h, ns)).join() === `${OLD},${OLD}`,
    );
    const oldUrls = (await tagWebhook(tag)).url;
    await h.startAgent();

    // When: the tag moves to the new revision
    await h.send({ granularity: 'namespace', tag, units: [{ namespace: ns, revision: NEW }] });
    await eventually('the namespace converged on the new revision', () => convergedOn(h, ns, NEW));
    // Then: the tag points at the new revision's injector, the pods run it, the labels are what they were
    const moved = await tagWebhook(tag);
    expect(moved.rev).toBe(NEW);
    expect(moved.url.every((u) => u.includes(`/inject/${NEW}/`))).toBe(true);
    expect(await podRevisions(h, ns)).toEqual([NEW, NEW]);
    expect((await h.admin.core.readNamespace({ name: ns })).metadata?.labels?.['istio.io/rev']).toBe(tag);
    const deployment = await h.admin.apps.readNamespacedDeployment({ namespace: ns, name: 'app' });
    expect(deployment.spec?.template.metadata?.labels?.['istio.io/rev']).toBeUndefined();
    expect(deployment.metadata?.labels?.['istio.io/rev']).toBeUndefined();
    expect(await restartMarks(h.admin, ns, 'app')).toMatchObject({ restartedFor: NEW });

    // When: it fails back
    await h.send({ granularity: 'namespace', tag, units: [{ namespace: ns, revision: OLD }] });
    await eventually('the namespace converged back on the old revision', () => convergedOn(h, ns, OLD));
    // Then: the tag is as it was, the pods that moved run the old revision again, the labels never changed
    expect(await tagWebhook(tag)).toEqual({ rev: OLD, url: oldUrls });
    expect(await podRevisions(h, ns)).toEqual([OLD, OLD]);
    expect((await h.admin.core.readNamespace({ name: ns })).metadata?.labels?.['istio.io/rev']).toBe(tag);
    expect(await restartMarks(h.admin, ns, 'app')).toMatchObject({ restartedFor: OLD });
  });

  it('Given a tag move planned from the old revision, When the tag is moved by hand to a revision three minor versions back before the wave, Then the agent re-judges the path live: it writes nothing and reports UNSUPPORTED_UPGRADE_PATH (ADR 0046)', async () => {
    const id = randomUUID().slice(0, 8);
    const tag = `tag-${id}`;
    const older = `old-${id}`;
    await registerRevision(cluster, injector, { revision: older, version: '1.22.1' });
    cleanups.push(() => unregisterRevision(cluster, older));
    const h = await newAgentHarness(env, cluster, { chartValues: [`revisionTags={${tag}}`] });
    cleanups.push(() => h.close());
    await newIstiod(h.admin, older, '1.22.1');
    cleanups.push(() =>
      h.admin.apps.deleteNamespacedDeployment({ namespace: 'istio-system', name: `istiod-${older}` }),
    );
    // the tag as planned (on the old revision), then moved by hand to 1.22 before the cluster's wave
    await registerRevisionTag(cluster, injector, { tag, revision: OLD });
    cleanups.push(() => unregisterRevision(cluster, tag, { tag: true }));
    const ns = `ns-${tag}`;
    await newNamespace(h.admin, ns, { 'istio.io/rev': tag });
    cleanups.push(() => h.admin.core.deleteNamespace({ name: ns }));
    await newWorkload(h.admin, { namespace: ns, kind: 'Deployment', name: 'app', replicas: 1 });
    await registerRevisionTag(cluster, injector, { tag, revision: older, version: '1.22.1' });
    await h.startAgent();

    await h.send({ granularity: 'namespace', tag, units: [{ namespace: ns, revision: NEW }] });
    const refused = await eventually('the unit waits, refused on its upgrade path', () =>
      h.lastProgress()?.units.find((u) => u.namespace === ns && u.reason === UnitWaitReason.UnsupportedUpgradePath),
    );
    expect(refused).toMatchObject({ state: UnitState.Pending });
    expect(refused.message).toContain(`moving tag ${tag} from ${older} to ${NEW}: 1.22.1 → 1.25.2`);
    expect((await tagWebhook(tag)).rev).toBe(older);
    expect(await restartMarks(h.admin, ns, 'app')).toEqual({});
  });

  it('Given a namespace on the old revision and a tag pointing at the new one, When a rollout moves it to the tag, Then the namespace is labelled with the tag, its pods run the revision the tag points to, and the unit converges (ADR 0046)', async () => {
    const tag = `tag-${randomUUID().slice(0, 8)}`;
    await registerRevisionTag(cluster, injector, { tag, revision: NEW });
    cleanups.push(() => unregisterRevision(cluster, tag, { tag: true }));
    const h = await newAgentHarness(env, cluster);
    cleanups.push(() => h.close());
    const ns = `ns-${tag}`;
    await newNamespace(h.admin, ns, { 'istio.io/rev': OLD });
    cleanups.push(() => h.admin.core.deleteNamespace({ name: ns }));
    await newWorkload(h.admin, { namespace: ns, kind: 'Deployment', name: 'app', replicas: 2 });
    await h.startAgent();

    await h.send({ to: tag, granularity: 'namespace', units: [{ namespace: ns, revision: tag }] });
    await eventually('the namespace converged on the tag', () => convergedOn(h, ns, NEW));
    expect((await h.admin.core.readNamespace({ name: ns })).metadata?.labels?.['istio.io/rev']).toBe(tag);
    expect(await podRevisions(h, ns)).toEqual([NEW, NEW]);
    expect((await tagWebhook(tag)).rev).toBe(NEW);
  });
});
