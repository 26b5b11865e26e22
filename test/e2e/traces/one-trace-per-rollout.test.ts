// One rollout is one trace, decided by Jaeger's stored spans (an independent observer): the whole fleet runs as
// processes that export with the standard OTEL_EXPORTER_OTLP_* variables to the test environment's Jaeger, and
// the trace is read back through Jaeger's query API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadJaegerEnv, type JaegerEnv } from '../../support/env.ts';
import { eventually } from '../../support/eventually.ts';
import { applyRollout, drillRolloutYaml, fleetApi, waitForLeader, waitForPhase } from '../../support/fleet-api.ts';
import { stopFleetScanningLogs } from '../../support/fleet-diagnostics.ts';
import { registerInventory, startFleet, type Fleet } from '../../support/fleet-processes.ts';
import { orphanSpans, otelExportEnv, storedTrace, type StoredSpan } from '../../support/jaeger.ts';

let jaeger: JaegerEnv;
let fleet: Fleet | undefined;
beforeAll(async () => {
  jaeger = loadJaegerEnv();
  fleet = await startFleet({
    namespacesPerCluster: 1,
    deploymentsPerNamespace: 2,
    // telemetry on, as a user turns it on: the standard variables, nothing test-only
    env: { OTEL_SDK_DISABLED: 'false', ...otelExportEnv(jaeger) },
  });
});
afterAll(async () => {
  await stopFleetScanningLogs(fleet);
});

/** The chain of parents from `span` up to the root (the span itself first). */
function ancestry(span: StoredSpan, byId: ReadonlyMap<string, StoredSpan>): StoredSpan[] {
  const chain = [span];
  for (let p = span.parentSpanId; p !== undefined; p = byId.get(p)?.parentSpanId) {
    const parent = byId.get(p);
    if (!parent) break;
    chain.push(parent);
  }
  return chain;
}

describe('one trace per upgrade', () => {
  it("Given the fleet exporting to Jaeger, When a rollout completes, Then Jaeger holds it as one trace rooted at its creation, with spans of the planner, Kafka publish and process, every cluster-agent's Kubernetes API calls, the vm-bridge and every vm-agent, and no broken parent link", async () => {
    const f = fleet!;
    const api = fleetApi(f);
    await waitForLeader(f);
    await registerInventory(f, api);
    const id = await applyRollout(
      api,
      drillRolloutYaml(f, { name: `traced-${f.id}`, waves: [100], vmWave: 0, vmMaxUnavailable: 4, soak: '1s' }),
    );
    const done = await waitForPhase(api, id, ['Completed'], 240_000);
    expect(done.traceId).toMatch(/^[0-9a-f]{32}$/);
    const traceId = done.traceId!;
    const clusters = f.clusters.map((c) => c.name);
    const hosts = f.vmAgents.map((a) => a.host);

    // Spans leave each process in batches: wait until every kind of process has exported its part.
    const spans = await eventually(
      'every process kind in the trace',
      async () => {
        const s = await storedTrace(jaeger, traceId);
        const agentClusters = new Set(
          s.filter((x) => x.service === 'meshwave-cluster-agent').map((x) => x.attributes['meshwave.cluster']),
        );
        const vmHosts = new Set(
          s.filter((x) => x.service === 'meshwave-vm-agent').map((x) => x.attributes['meshwave.vm.host']),
        );
        const ready =
          clusters.every((c) => agentClusters.has(c)) &&
          hosts.every((h) => vmHosts.has(h)) &&
          s.some((x) => x.service === 'meshwave-vm-bridge' && x.name.startsWith('POST ')) &&
          s.some((x) => x.service === 'meshwave-cluster-agent' && x.name === 'PATCH');
        return ready ? s : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const services = new Set(spans.map((s) => s.service));

    // one trace: a single root, the rollout's creation in the planner, and every parent present
    const roots = spans.filter((s) => s.parentSpanId === undefined);
    expect(roots.map((s) => `${s.service} ${s.name}`)).toEqual(['meshwave-planner create rollout']);
    expect(orphanSpans(spans).map((s) => `${s.service} ${s.name}`)).toEqual([]);
    expect([...services].sort()).toEqual(
      ['meshwave-cluster-agent', 'meshwave-planner', 'meshwave-vm-agent', 'meshwave-vm-bridge'].sort(),
    );

    // Kafka: the planner publishes, each cluster-agent and the bridge process, as children of that publish
    const commandsTopic = f.topics.commands;
    const publishes = spans.filter((s) => s.name === `publish ${commandsTopic}` && s.service === 'meshwave-planner');
    expect(publishes.length).toBeGreaterThan(0);
    expect(publishes.every((s) => s.attributes['messaging.system'] === 'kafka')).toBe(true);
    const processed = spans.filter((s) => s.name === `process ${commandsTopic}`);
    for (const service of ['meshwave-cluster-agent', 'meshwave-vm-bridge'])
      expect(
        processed.some(
          (s) => s.service === service && byId.get(s.parentSpanId ?? '')?.name === `publish ${commandsTopic}`,
        ),
        `${service}: a process span whose parent is the planner's publish`,
      ).toBe(true);

    // each cluster-agent's Kubernetes API calls lead back, through Kafka, to the creation
    for (const cluster of clusters) {
      const calls = spans.filter(
        (s) =>
          s.service === 'meshwave-cluster-agent' &&
          s.name === 'PATCH' &&
          ancestry(s, byId).some((a) => a.attributes['meshwave.cluster'] === cluster),
      );
      expect(calls.length, `${cluster}: Kubernetes API calls in the trace`).toBeGreaterThan(0);
      for (const call of calls) {
        const chain = ancestry(call, byId).map((a) => a.name);
        expect(chain.at(-1)).toBe('create rollout');
        expect(chain).toContain(`process ${commandsTopic}`);
        expect(chain).toContain(`publish ${commandsTopic}`);
        expect(call.attributes['http.request.method']).toBe('PATCH');
      }
    }

    // each vm-agent worked in the trace, and its reports reached the bridge as children of its own spans
    for (const host of hosts) {
      const converge = spans.find(
        (s) => s.service === 'meshwave-vm-agent' && s.attributes['meshwave.vm.host'] === host,
      );
      expect(converge?.name, `${host}: a converge span`).toBe('converge host');
      expect(ancestry(converge!, byId).at(-1)?.name).toBe('create rollout');
    }
    const served = spans.filter((s) => s.service === 'meshwave-vm-bridge' && s.name === 'POST /v1/hosts/:host/report');
    expect(served.length).toBeGreaterThan(0);
    for (const s of served) {
      const client = byId.get(s.parentSpanId ?? '');
      expect(client?.service).toBe('meshwave-vm-agent');
      expect(client?.name).toBe('POST /v1/hosts/{host}/report');
    }
  });
});
