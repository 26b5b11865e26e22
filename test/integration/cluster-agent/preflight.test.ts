// The preflight on real objects (ADR 0035): the agent's client reads Deployments and StatefulSets from a real
// kube-apiserver, and the plan's risk codes follow from what it read — no readiness probe, one replica, paused,
// OnDelete, a partition, injection disabled, no holdApplicationUntilProxyStarts, a drain shorter than shutdown.
import { afterEach, describe, expect, it } from 'vitest';
import { createKubernetesClient } from '@meshwave/cluster-agent';
import { RiskCode, type InventoryWorkload } from '@meshwave/contracts';
import { workloadRisks } from '@meshwave/plan';
import { loadTestEnv } from '../../support/env.ts';
import { newAdminClients, newNamespace, newPodTemplate, uniqueName } from './fixtures.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const admin = newAdminClients(cluster.kubeconfig);
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('preflight on real objects', () => {
  it('Given workloads with each risk on a real apiserver, When the agent reads them, Then each carries its risk codes and a safe one none', async () => {
    const ns = uniqueName('preflight');
    await newNamespace(admin, ns);
    cleanups.push(() => admin.core.deleteNamespace({ name: ns }));
    const probe = { httpGet: { path: '/', port: 8080 } };
    const template = (
      app: string,
      opts: { probe?: boolean; annotations?: Record<string, string>; grace?: number } = {},
    ) => {
      const t = newPodTemplate(app);
      return {
        metadata: { ...t.metadata, annotations: opts.annotations ?? {} },
        spec: {
          ...t.spec!,
          ...(opts.grace !== undefined ? { terminationGracePeriodSeconds: opts.grace } : {}),
          containers: t.spec!.containers.map((c) => ({
            ...c,
            ...(opts.probe === false ? {} : { readinessProbe: probe }),
          })),
        },
      };
    };
    const hold = { 'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: true\nterminationDrainDuration: 60s\n' };
    const deployment = async (name: string, replicas: number, t: ReturnType<typeof template>, paused = false) =>
      admin.apps.createNamespacedDeployment({
        namespace: ns,
        body: { metadata: { name }, spec: { replicas, paused, selector: { matchLabels: { app: name } }, template: t } },
      });
    await deployment('safe', 2, template('safe', { annotations: hold, grace: 30 }));
    await deployment('single', 1, template('single', { annotations: hold }));
    await deployment('noprobe', 2, template('noprobe', { probe: false, annotations: hold }));
    await deployment('paused', 2, template('paused', { annotations: hold }), true);
    await deployment('optout', 2, template('optout', { annotations: { ...hold, 'sidecar.istio.io/inject': 'false' } }));
    await deployment('nohold', 2, template('nohold'));
    await deployment(
      'drain',
      2,
      template('drain', {
        annotations: { 'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: true\nterminationDrainDuration: 5s' },
        grace: 45,
      }),
    );
    const statefulSet = async (name: string, updateStrategy: Record<string, unknown>) =>
      admin.apps.createNamespacedStatefulSet({
        namespace: ns,
        body: {
          metadata: { name },
          spec: {
            replicas: 2,
            serviceName: name,
            selector: { matchLabels: { app: name } },
            template: template(name, { annotations: hold }),
            updateStrategy,
          },
        },
      });
    await statefulSet('ondelete', { type: 'OnDelete' });
    await statefulSet('partition', { type: 'RollingUpdate', rollingUpdate: { partition: 1 } });

    const kube = createKubernetesClient({ kubeconfig: cluster.kubeconfig });
    cleanups.push(async () => kube.close());
    const codes = Object.fromEntries(
      (await kube.listWorkloads(ns)).map((v) => {
        const w: InventoryWorkload = {
          namespace: v.namespace,
          kind: v.kind,
          name: v.name,
          labels: {},
          revision: null,
          replicas: v.replicas,
          ...(v.preflight ? { preflight: v.preflight } : {}),
        };
        return [v.name, workloadRisks(w).map((r) => r.code)];
      }),
    );
    expect(codes).toEqual({
      safe: [],
      single: [RiskCode.SingleReplica],
      noprobe: [RiskCode.NoReadinessProbe],
      paused: [RiskCode.DeploymentPaused],
      optout: [RiskCode.InjectionDisabled],
      nohold: [RiskCode.NoHoldUntilProxyStarts],
      drain: [RiskCode.ProxyDrainShorter],
      ondelete: [RiskCode.StatefulSetOnDelete],
      partition: [RiskCode.StatefulSetPartition],
    });
  });
});
