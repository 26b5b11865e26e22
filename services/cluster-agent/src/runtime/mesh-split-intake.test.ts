import { MESH_LABEL, MessageType, type MeshSplitCommand } from '@meshwave/contracts';
import type { OutgoingMessage } from '@meshwave/bus';
import { silentLogger } from '@meshwave/telemetry';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ClusterAgentError, ClusterAgentErrorCode } from '../errors.js';
import type { NamespaceView } from '../ports/kubernetes-port.js';
import type { MeshConfigPort } from '../ports/mesh-config-port.js';
import { createMeshSplitIntake } from './mesh-split-intake.js';

// An applied split as the agent takes it (issue 21, ADR 0049): fenced, then converged with compare-before-write.

/** A cluster of namespaces and mesh configs in memory, counting the writes made to it. */
function newWorld(namespaces: Record<string, Record<string, string>>, meshConfigs: Record<string, string>) {
  const ns = new Map<string, NamespaceView>(
    Object.entries(namespaces).map(([name, labels]) => [name, { name, labels, resourceVersion: '1' }]),
  );
  const writes: string[] = [];
  const refused: OutgoingMessage[] = [];
  let ledgerEpoch = 1;
  let forbidden = false;
  let reReads = 0;
  const meshConfig: MeshConfigPort = {
    readMeshConfig: (revision) => {
      if (forbidden) return Promise.reject(new ClusterAgentError(ClusterAgentErrorCode.Forbidden, 'forbidden'));
      const text = meshConfigs[revision];
      return Promise.resolve(text === undefined ? undefined : { text, resourceVersion: '7' });
    },
    writeMeshConfig: (revision, text) => {
      writes.push(`configmap/${revision}`);
      meshConfigs[revision] = text;
      return Promise.resolve();
    },
  };
  const intake = createMeshSplitIntake({
    cluster: 'east',
    source: 'cluster/east',
    port: {
      patchNamespace: (name, patch) => {
        writes.push(`namespace/${name}`);
        const view = {
          name,
          labels: { ...ns.get(name)!.labels, ...(patch.labels as Record<string, string>) },
          resourceVersion: '2',
        };
        ns.set(name, view);
        return Promise.resolve(view);
      },
    },
    cache: { namespace: (name) => ns.get(name), rememberNamespace: (v) => ns.set(v.name, v) },
    meshConfig,
    ledgerEpoch: () => ledgerEpoch,
    onSelectorsWritten: () => void reReads++,
    log: silentLogger(),
    publisher: {
      publish: (m) => {
        refused.push(...m);
        return Promise.resolve(true);
      },
      event: (type, data) => ({ topic: 'events', key: 'cluster/east', type, data }) as OutgoingMessage,
    },
  });
  const send = (cmd: Partial<MeshSplitCommand>, id = 'c1') =>
    intake.handle({
      id,
      type: MessageType.MeshSplit,
      source: 'planner',
      time: new Date().toISOString(),
      key: 'cluster/east',
      partition: 0,
      offset: '0',
      data: {
        cluster: 'east',
        generation: 100,
        epoch: 1,
        namespaces: [
          { name: 'shop', mesh: 'mesh-a' },
          { name: 'ads', mesh: 'mesh-b' },
          { name: 'gone', mesh: 'mesh-b' },
        ],
        controlPlanes: [
          { revision: 'mesh-a-1-25-2', mesh: 'mesh-a' },
          { revision: 'mesh-b-1-25-2', mesh: 'mesh-b' },
        ],
        ...cmd,
      },
    } as Parameters<typeof intake.handle>[0]);
  return {
    ns,
    meshConfigs,
    writes,
    refused,
    send,
    newEpoch: (e: number) => (ledgerEpoch = e),
    forbid: () => (forbidden = true),
    reReads: () => reReads,
  };
}

describe('cluster-agent: an applied mesh split', () => {
  it('Given one namespace already in its mesh, one not and one the cluster lacks, When the split comes, Then only the one not yet labelled is written, each installed revision gets its selectors, and a second delivery writes nothing', async () => {
    const w = newWorld(
      { shop: { [MESH_LABEL]: 'mesh-a' }, ads: { team: 'ads' } },
      { 'mesh-a-1-25-2': 'accessLogFile: /dev/stdout\n' },
    );

    await w.send({});

    expect(w.writes).toEqual(['namespace/ads', 'configmap/mesh-a-1-25-2']);
    expect(w.ns.get('ads')?.labels).toEqual({ team: 'ads', [MESH_LABEL]: 'mesh-b' });
    expect(parse(w.meshConfigs['mesh-a-1-25-2']!)).toEqual({
      accessLogFile: '/dev/stdout',
      discoverySelectors: [
        { matchLabels: { [MESH_LABEL]: 'mesh-a' } },
        { matchLabels: { 'kubernetes.io/metadata.name': 'istio-system' } },
      ],
    });
    await w.send({});
    await w.send({ generation: 101 }, 'c2');
    expect(w.writes).toHaveLength(2);
    // the selectors were written once: the control planes (and the mesh each serves) are read again once (ADR 0056)
    expect(w.reReads()).toBe(1);
  });

  it("Given a split from a deposed leader's epoch, or of an older generation, or for another cluster, When it comes, Then it is refused aloud and nothing is written", async () => {
    const w = newWorld({ shop: {}, ads: {} }, {});
    w.newEpoch(5);
    await w.send({ epoch: 4 }, 'stale');
    await w.send({ cluster: 'west', epoch: 5 }, 'foreign');
    await w.send({ epoch: 5, generation: 100 }, 'ok');
    await w.send({ epoch: 5, generation: 99 }, 'older');
    expect(w.refused.map((m) => (m.data as { reason: string }).reason)).toEqual([
      'stale-epoch',
      'foreign-cluster',
      'stale-generation',
    ]);
    expect(w.writes).toEqual(['namespace/shop', 'namespace/ads']);
  });

  it('Given an agent whose chart does not grant the mesh configs, When a split comes, Then the namespaces are labelled and the handler does not fail (no endless redelivery)', async () => {
    const w = newWorld({ shop: {} }, { 'mesh-a-1-25-2': '' });
    w.forbid();
    await expect(w.send({})).resolves.toBeUndefined();
    expect(w.writes).toEqual(['namespace/shop']);
  });
});
