import { describe, expect, it } from 'vitest';
import { toPodView, toWorkloadView } from './kubernetes-client.js';
import { TokenBucket } from './token-bucket.js';

describe('normalised views of the three workload kinds', () => {
  it('reads a DaemonSet from its scheduling counters and a Deployment from its replicas and conditions', () => {
    const ds = toWorkloadView('DaemonSet', {
      metadata: { name: 'agent', namespace: 'ops', generation: 4, resourceVersion: '9' },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } } } },
      status: { observedGeneration: 4, desiredNumberScheduled: 3, updatedNumberScheduled: 2, numberAvailable: 3 },
    });
    expect(ds).toMatchObject({
      kind: 'DaemonSet',
      replicas: 3,
      updatedReplicas: 2,
      availableReplicas: 3,
      generation: 4,
      observedGeneration: 4,
    });
    const d = toWorkloadView('Deployment', {
      metadata: { name: 'web', namespace: 'shop', generation: 2 },
      spec: { replicas: 5 },
      status: {
        observedGeneration: 2,
        updatedReplicas: 1,
        availableReplicas: 4,
        conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
      },
    });
    expect(d).toMatchObject({ replicas: 5, updatedReplicas: 1, availableReplicas: 4, progressDeadlineExceeded: true });
  });

  it('reads readiness, restarts, crash loops, controller and deletion from a pod', () => {
    const p = toPodView({
      metadata: {
        name: 'web-1',
        namespace: 'shop',
        ownerReferences: [{ controller: true }],
        deletionTimestamp: '2026-01-01T00:00:00Z',
      },
      spec: {
        containers: [
          { name: 'app', image: 'a:1' },
          { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.25.2' },
        ],
      },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'False' }],
        containerStatuses: [
          { restartCount: 1 },
          { restartCount: 5, state: { waiting: { reason: 'CrashLoopBackOff' } } },
        ],
      },
    });
    expect(p).toMatchObject({ controlled: true, ready: false, restarts: 6, crashLooping: true, terminating: true });
    expect(p.containers[1]?.image).toBe('docker.io/istio/proxyv2:1.25.2');
  });
});

describe('token bucket', () => {
  it('lets a burst through at once and makes the next request wait for a token', async () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    await Promise.all([bucket.take(), bucket.take(), bucket.take()]);
    let fourth = false;
    const pending = bucket.take().then(() => (fourth = true));
    await Promise.resolve();
    expect(fourth).toBe(false);
    now += 100; // one token's worth at 10/s
    await pending;
    expect(fourth).toBe(true);
  });
});
