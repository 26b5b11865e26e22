import { InventoryReport, MAX_REPORTED_REVISIONS, RevisionName } from '@meshwave/contracts';
import { describe, expect, it, vi } from 'vitest';
import { newPodView } from './pod-fixtures.js';
import { RevisionPodsIndex, capRevisionPods, revisionPodsOf } from './revision-pods.js';

const pod = newPodView;

describe('revisionPodsOf', () => {
  it('names what runs each proxy pod, in every namespace: Deployments, CronJobs, Jobs, gateways and bare pods', () => {
    const pods = [
      pod({
        revision: '1-24-5',
        name: 'cart-7d9-x',
        labels: { 'pod-template-hash': '7d9' },
        owner: { kind: 'ReplicaSet', name: 'cart-7d9' },
      }),
      pod({
        revision: '1-24-5',
        name: 'cart-7d9-y',
        labels: { 'pod-template-hash': '7d9' },
        owner: { kind: 'ReplicaSet', name: 'cart-7d9' },
      }),
      pod({ revision: '1-24-5', namespace: 'batch', name: 'n-1-a', owner: { kind: 'Job', name: 'nightly-29000' } }),
      pod({ revision: '1-24-5', namespace: 'batch', name: 'once-a', owner: { kind: 'Job', name: 'once' } }),
      pod({ revision: '1-24-5', namespace: 'kube-system', name: 'debug' }),
      // a gateway is deployed with its proxy, not injected: its label names the revision
      {
        ...pod({
          namespace: 'istio-system',
          name: 'gw-5f-a',
          owner: { kind: 'ReplicaSet', name: 'istio-ingressgateway-5f' },
        }),
        labels: { istio: 'ingressgateway', 'istio.io/rev': '1-24-5', 'pod-template-hash': '5f' },
        containers: [{ name: 'istio-proxy', image: 'proxyv2:1.24.5' }],
      },
      pod({ revision: '1-25-2', name: 'new', owner: { kind: 'StatefulSet', name: 'db' } }),
      // not counted: no proxy, finished, on its way out
      pod({ name: 'plain', owner: { kind: 'ReplicaSet', name: 'plain-1' } }),
      pod({ revision: '1-24-5', name: 'done', phase: 'Succeeded', owner: { kind: 'Job', name: 'old' } }),
      pod({ revision: '1-24-5', name: 'going', terminating: true }),
    ];
    const usage = revisionPodsOf(pods, {
      ownerOfJob: new Map([['batch/nightly-29000', 'nightly']]),
      // a CronJob with nothing running now still starts pods of the revision its template names
      templates: [{ namespace: 'batch', name: 'weekly', revision: '1-23-1' }],
    });
    expect(usage).toEqual([
      {
        revision: '1-23-1',
        pods: 0,
        more: 0,
        users: [{ kind: 'CronJob', namespace: 'batch', name: 'weekly', pods: 0 }],
      },
      {
        revision: '1-24-5',
        pods: 6,
        more: 0,
        users: [
          { kind: 'CronJob', namespace: 'batch', name: 'nightly', pods: 1 },
          { kind: 'Job', namespace: 'batch', name: 'once', pods: 1 },
          { kind: 'Gateway', namespace: 'istio-system', name: 'istio-ingressgateway', pods: 1 },
          { kind: 'Pod', namespace: 'kube-system', name: 'debug', pods: 1 },
          { kind: 'Deployment', namespace: 'shop', name: 'cart', pods: 2 },
        ],
      },
      {
        revision: '1-25-2',
        pods: 1,
        more: 0,
        users: [{ kind: 'StatefulSet', namespace: 'shop', name: 'db', pods: 1 }],
      },
    ]);
  });

  it('names at most 50 users of a revision and counts the rest', () => {
    const pods = Array.from({ length: 60 }, (_, i) =>
      pod({ revision: '1-24-5', name: `bare-${String(i).padStart(2, '0')}` }),
    );
    const [usage] = revisionPodsOf(pods, { ownerOfJob: new Map(), templates: [] });
    expect(usage).toMatchObject({ pods: 60, more: 10 });
    expect(usage?.users).toHaveLength(50);
  });
});

describe('capRevisionPods', () => {
  it('keeps an inventory within the schema when pods name more revisions than it may list: the busiest, marked truncated', () => {
    // one pod per arbitrary revision, and a busy revision sorting last by name
    const pods = Array.from({ length: MAX_REPORTED_REVISIONS + 1 }, (_, i) =>
      pod({ revision: `r${String(i).padStart(3, '0')}`, name: `p${i}` }),
    );
    pods.push(pod({ revision: 'zz-busy', name: 'b1' }), pod({ revision: 'zz-busy', name: 'b2' }));
    const read = capRevisionPods(revisionPodsOf(pods, { ownerOfJob: new Map(), templates: [] }));
    expect(read.revisionPodsTruncated).toBe(true);
    expect(read.revisionPods).toHaveLength(MAX_REPORTED_REVISIONS);
    expect(read.revisionPods?.map((r) => r.revision)).toContain('zz-busy');
    const report = { cluster: 'c1', generation: 1, workloads: [], ...read };
    expect(InventoryReport.safeParse(report).success).toBe(true);
  });

  it('leaves a list within the bound whole and unmarked', () => {
    const read = capRevisionPods(
      revisionPodsOf([pod({ revision: '1-24-5' })], { ownerOfJob: new Map(), templates: [] }),
    );
    expect(read).toEqual({ revisionPods: [expect.objectContaining({ revision: '1-24-5', pods: 1 })] });
  });

  it('checks a revision name against the contract once, not at every pod event (issue 15)', () => {
    const index = new RevisionPodsIndex();
    const checks = vi.spyOn(RevisionName, 'safeParse');
    try {
      const owner = { kind: 'ReplicaSet', name: 'web-7d9f' };
      for (let i = 0; i < 100; i++) {
        const labels = { 'pod-template-hash': '7d9f' };
        index.upsert(pod({ revision: '1-26-0', name: `web-7d9f-${i}`, owner, labels, ready: false }));
        index.upsert(pod({ revision: '1-26-0', name: `web-7d9f-${i}`, owner, labels, ready: true }));
      }
      expect(checks.mock.calls.length).toBeLessThanOrEqual(1);
      expect(index.read({ ownerOfJob: new Map(), templates: [] })).toEqual([
        {
          revision: '1-26-0',
          pods: 100,
          users: [{ kind: 'Deployment', namespace: 'shop', name: 'web', pods: 100 }],
          more: 0,
        },
      ]);
    } finally {
      checks.mockRestore();
    }
  });
});
