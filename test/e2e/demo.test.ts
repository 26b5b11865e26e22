import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDemo, type DemoResult } from '@meshwave/cli';
import type { SimulatedCluster } from '@meshwave/cluster-agent';

// The embedded default (`npm start`) as a test: the real planner, agents and vm-bridge on the in-memory bus
// and store, over simulated clusters whose one workload crash-loops on the new revision.
describe('embedded demo scenario', () => {
  it('halts in the wave of the crash-looping workload, fails it back, and completes after the operator excludes it', async () => {
    // Given the default fleet and the example rollout, watching when each workload is relabelled to 1-25-2
    const movedAt = new Map<string, number>();
    const out: string[] = [];
    const euNamespaceRevision = new Map<string, string | undefined>();
    // an independent watch of every node: which are cordoned now, and the most cordoned at once, per cluster
    const cordoned = new Map<string, Set<string>>();
    let mostCordoned = 0;
    // and of the ambient pods (namespace `orders`, not a DaemonSet's) on each node the ztunnel steps drain: those on
    // it when it was cordoned, those still on it when it was uncordoned, read at the moment of each node event
    const ambientPodsOn = (cluster: SimulatedCluster, node: string): string[] =>
      cluster.ambient
        .podsRunningOn(node)
        .filter((p) => p.namespace === 'orders' && p.ownerKind !== 'DaemonSet')
        .map((p) => p.name);
    const drained = new Map<string, { atCordon: string[]; atUncordon?: string[] }>();
    let staging: SimulatedCluster | undefined;
    const planFile = join(mkdtempSync(join(tmpdir(), 'meshwave-demo-')), 'plan.json');
    const result: DemoResult = await runDemo(
      {
        port: 0,
        planFile,
        exitWhenDone: true,
        summary: 'json',
        timeoutSeconds: 280,
        onFleetStarted: (fleet) => {
          fleet.clusters
            .find((c) => c.name === 'prod-eu-west-1')!
            .watch('namespaces', (event) => {
              const objects = event.type === 'resync' ? event.objects : event.type === 'upsert' ? [event.object] : [];
              for (const n of objects) euNamespaceRevision.set(n.name, n.labels['istio.io/rev']);
            });
          for (const cluster of fleet.clusters) {
            const now = new Set<string>();
            cordoned.set(cluster.name, now);
            if (cluster.name === 'staging-eu-1') staging = cluster;
            cluster.ambient.watchNodes((node) => {
              if (node.unschedulable) now.add(node.name);
              else now.delete(node.name);
              mostCordoned = Math.max(mostCordoned, now.size);
              const step = node.annotations['meshwave.io/ambient-step'];
              if (node.unschedulable && step?.startsWith('ztunnel@') === true && !drained.has(node.name))
                drained.set(node.name, { atCordon: ambientPodsOn(cluster, node.name) });
              const held = drained.get(node.name);
              if (!node.unschedulable && held !== undefined && held.atUncordon === undefined)
                held.atUncordon = ambientPodsOn(cluster, node.name);
            });
            cluster.watch('workloads', (event) => {
              const objects = event.type === 'resync' ? event.objects : event.type === 'upsert' ? [event.object] : [];
              for (const w of objects) {
                const key = `${cluster.name}/${w.namespace}/${w.kind}/${w.name}`;
                if (w.templateLabels['istio.io/rev'] === '1-25-2' && !movedAt.has(key)) movedAt.set(key, Date.now());
              }
            });
          }
        },
      },
      {
        readFile: (p) => import('node:fs/promises').then((fs) => fs.readFile(p, 'utf8')),
        stdout: (t) => out.push(t),
        stderr: (t) => out.push(t),
        env: {},
      },
    );

    // Then the rollout completed with every unit and VM host in scope on the new revision
    expect(result.exit, out.join('\n')).toBe(0);
    const { summary, status, plan } = result;
    expect(summary).toMatchObject({ phase: 'Completed' });
    expect(summary!.units.onTarget).toBe(summary!.units.total);
    expect(summary!.units.total).toBeGreaterThan(500);
    expect(summary!.vmHosts.onTarget).toBe(summary!.vmHosts.total);
    expect(summary!.vmHosts.total).toBe(40);
    expect(summary!.halts).toBeGreaterThanOrEqual(1);
    expect(summary!.failbacks).toBeGreaterThanOrEqual(1);
    // no cluster's apiserver saw more workloads restarting at once than the plan allows there, the namespace-labelled
    // cluster's label handoffs included (ADR 0011 addendum)
    expect(summary!.overMaxUnavailable).toEqual([]);
    // an hour's deadline for a rollout of minutes: never judged at risk, concurrency never raised
    expect(summary!.pacingFactor).toBe(1);
    // and the summary says what the operator excluded and what the process cost; the plan was written out
    expect(summary!.excluded).toBe(1);
    // and the ingress gateway moved last, by canary: every gateway step done, the gateway wholly on the new revision
    expect(plan!.gatewaySteps.map((s) => s.percent)).toEqual([10, 50, 100]);
    expect(status!.gateways?.steps.map((s) => s.state)).toEqual(['done', 'done', 'done']);
    expect(status!.gateways?.gateways).toMatchObject([{ name: 'istio-ingressgateway', percent: 100 }]);
    // and ambient mode in staging moved node by node after the workload waves: istio-cni, then ztunnel, 2 nodes at a
    // time, then the waypoint; every node agent ends Ready on its template, never more than 2 nodes were cordoned at
    // once (the independent watch), and none is left cordoned
    expect(plan!.ambientSteps.map((s) => `${s.name}:${s.nodes.length || s.waypoints.length}`)).toEqual([
      'istio-cni-1:2',
      'istio-cni-2:2',
      'ztunnel-1:2',
      'ztunnel-2:2',
      'waypoints-1:1',
    ]);
    expect(status!.ambient?.steps.map((s) => s.state)).toEqual(['done', 'done', 'done', 'done', 'done']);
    const onTarget = { version: '1.25.2', nodes: 4, onTarget: 4, cordoned: [], state: 'converged' };
    expect(status!.ambient?.clusters).toEqual([
      {
        cluster: 'staging-eu-1',
        nodeAgents: [
          { component: 'istio-cni', ...onTarget },
          { component: 'ztunnel', ...onTarget },
        ],
        waypoints: { total: 1, moved: 1 },
      },
    ]);
    expect(summary!.nodeAgents).toEqual({ total: 8, onTarget: 8, cordonedNodes: 0 });
    expect(mostCordoned).toBe(2);
    expect([...cordoned.values()].map((s) => s.size)).toEqual([0, 0, 0]);
    // and under `drain: drain` each node ztunnel moved had its ambient pods moved off it while it was cordoned: some
    // on it at the cordon, none at the uncordon, and their owners ran them on other nodes (all Ready at the end)
    expect([...drained.keys()].sort()).toEqual(['ambient-a-1', 'ambient-a-3', 'ambient-b-2', 'ambient-b-4']);
    expect([...drained.values()].some((d) => d.atCordon.length > 0)).toBe(true);
    for (const [node, d] of drained) expect(d.atUncordon, node).toEqual([]);
    expect(staging!.workloadsIn('orders').map((w) => w.availableReplicas)).toEqual(
      staging!.workloadsIn('orders').map((w) => w.replicas),
    );
    // and the waypoint's pods, which istiod renders on its revision, all run Ready on 1-25-2
    const waypointPods = [...drained.keys()]
      .flatMap((node) => staging!.ambient.podsRunningOn(node))
      .filter((p) => p.labels['gateway.networking.k8s.io/gateway-name'] === 'waypoint');
    expect(waypointPods.map((p) => [p.annotations?.['istio.io/rev'], p.ready])).toEqual([['1-25-2', true]]);
    expect(summary!.failedUnits).toBe(0);
    expect(summary!.process.cpuSeconds).toBeGreaterThan(0);
    expect(summary!.process.peakRssMb).toBeGreaterThan(0);
    expect(summary!.rolloutSeconds).toBeLessThanOrEqual(summary!.durationSeconds);
    expect(JSON.parse(readFileSync(planFile, 'utf8'))).toEqual(plan);

    // and the halt happened in the wave that holds the crash-looping workload
    const bad = 'prod-us-east-1/search/Deployment/db';
    const halt = status!.transitions.find((t) => t.trigger === 'gate-failed')!;
    expect(halt.reason).toContain(bad);
    const badWave = plan!.waves.findIndex((w) =>
      w.workloads.some((x) => `${x.cluster}/${x.namespace}/${x.kind}/${x.name}` === bad),
    );
    expect(halt.wave).toBe(badWave);
    expect(badWave).toBeLessThan(plan!.waves.length - 1);

    // and no unit of a later wave moved before the operator resumed
    const resumedAt = Date.parse(
      status!.transitions.find((t) => t.trigger === 'resume' && t.actor === 'demo-operator')!.at,
    );
    const later = plan!.waves
      .slice(badWave + 1)
      .flatMap((w) => w.workloads.map((x) => `${x.cluster}/${x.namespace}/${x.kind}/${x.name}`));
    expect(later.length).toBeGreaterThan(0);
    for (const key of later) {
      expect(movedAt.get(key), key).toBeGreaterThanOrEqual(resumedAt);
    }
    // and the example's metric gates judged the simulated mesh's request metrics, and passed the healthy waves; the
    // ambient steps, whose traffic no request metric tells apart by node, passed on their agents' reports (ADR 0051)
    const firstAmbient = plan!.waves.length;
    const isAmbient = (wave: number) => wave >= firstAmbient && wave < firstAmbient + plan!.ambientSteps.length;
    const finals = status!.gateVerdicts.filter((v) => v.final && v.outcome === 'Successful');
    const passed = finals.filter((v) => !isAmbient(v.wave)).map((v) => v.message);
    expect(passed.length).toBeGreaterThan(0);
    for (const message of passed) {
      expect(message).toMatch(/error ratio [\d.]+% <= 0\.10%/);
      expect(message).toMatch(/p99 median [\d.]+ ?ms over \d+ new-revision workloads/);
    }
    expect(finals.filter((v) => isAmbient(v.wave)).map((v) => v.message)).toEqual(
      plan!.ambientSteps.map(() => '1/1 units and 0/0 VM hosts on the target revision and Ready'),
    );

    // and the exclusion is the operator's, visible on the rollout
    expect(status!.excluded).toContain(bad);

    // and in the cluster that labels revisions on namespaces, each moved namespace's label was handed over to
    // its workloads (ADR 0011), while the excluded system namespaces keep theirs
    const labels = euNamespaceRevision;
    expect(labels.get('kube-system')).toBe('1-24-5');
    expect(labels.get('payments')).toBeUndefined();
    expect([...labels].filter(([name, rev]) => !name.endsWith('-system') && rev !== undefined)).toEqual([]);
  }, 300_000);
});
