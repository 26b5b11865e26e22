import { describe, expect, it } from 'vitest';
import {
  mutate,
  podOwner,
  reviewAdmission,
  simulatedAdmission,
  webhookConfiguration,
  type AdmittedObject,
} from './admission-webhook.js';
import type { AssignmentSource } from '../ports/assignment-source.js';
import { diffJsonPatch } from '../core/json-patch.js';
import { IstioLabel, MeshwaveAnnotation } from '@meshwave/istio';

const newAssignments = (map: Record<string, string>): AssignmentSource => ({
  revisionFor: (namespace, workload) => map[workload ? `${namespace}/${workload.kind}/${workload.name}` : namespace],
});

const newPod = (labels: Record<string, string>, owner?: { kind: string; name: string }): AdmittedObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    generateName: 'cart-7d9f-',
    labels,
    ...(owner ? { ownerReferences: [{ ...owner, controller: true }] } : {}),
  },
  spec: { containers: [{ name: 'app', image: 'app:1' }] },
});

describe('mutate', () => {
  it('Given a namespace assigned 1-25-2, a pod from a stale template gets istio.io/rev=1-25-2', () => {
    const out = mutate(
      { kind: 'Pod', namespace: 'shop', object: newPod({ app: 'cart', [IstioLabel.Revision]: '1-24-5' }) },
      newAssignments({ shop: '1-25-2' }),
    );
    expect(out.metadata?.labels?.[IstioLabel.Revision]).toBe('1-25-2');
    expect(out.metadata?.labels?.app).toBe('cart');
  });

  it('a workload-level assignment wins over the namespace for pods of that workload (ReplicaSet owner resolved)', () => {
    const base = newPod({ app: 'cart', 'pod-template-hash': '7d9f' }, { kind: 'ReplicaSet', name: 'cart-7d9f' });
    expect(podOwner(base)).toEqual({ kind: 'Deployment', name: 'cart' });
    const assignments = newAssignments({ shop: '1-24-5', 'shop/Deployment/cart': '1-25-2' });
    // once the move started (the restart mark is on the pod, copied from its template)
    const pod = {
      ...base,
      metadata: { ...base.metadata, annotations: { [MeshwaveAnnotation.RestartedFor]: '1-25-2' } },
    };
    const out = mutate({ kind: 'Pod', namespace: 'shop', object: pod }, assignments);
    expect(out.metadata?.labels?.[IstioLabel.Revision]).toBe('1-25-2');
    // before: the pod of a unit still waiting for its slot is not moved by a scale-up (the namespace's applies)
    const early = mutate({ kind: 'Pod', namespace: 'shop', object: base }, assignments);
    expect(early.metadata?.labels?.[IstioLabel.Revision]).toBe('1-24-5');
  });

  it('in a namespace handed over to its workloads, new workloads and pods naming no revision get the one its label injected', () => {
    const handedOff: AssignmentSource = {
      revisionFor: () => undefined,
      handoffRevisionOf: (namespace) => (namespace === 'shop' ? '1-24-5' : undefined),
    };
    const deploy = (labels: Record<string, string>): AdmittedObject => ({
      kind: 'Deployment',
      metadata: { name: 'new-api' },
      spec: { template: { metadata: { labels } } },
    });
    const templateRev = (o: AdmittedObject): string | undefined =>
      o.spec?.template?.metadata?.labels?.[IstioLabel.Revision];
    expect(
      templateRev(mutate({ kind: 'Deployment', namespace: 'shop', object: deploy({ app: 'a' }) }, handedOff)),
    ).toBe('1-24-5');
    // a revision it names, an opt-out, or another namespace are left as they are
    const named = deploy({ app: 'a', [IstioLabel.Revision]: '1-25-2' });
    expect(mutate({ kind: 'Deployment', namespace: 'shop', object: named }, handedOff)).toBe(named);
    const optedOut = deploy({ app: 'a', [IstioLabel.Inject]: 'false' });
    expect(mutate({ kind: 'Deployment', namespace: 'shop', object: optedOut }, handedOff)).toBe(optedOut);
    const elsewhere = deploy({ app: 'a' });
    expect(mutate({ kind: 'Deployment', namespace: 'other', object: elsewhere }, handedOff)).toBe(elsewhere);
    // a Job's pod (no workload meshwave manages) is injected too
    const jobPod = newPod({ 'job-name': 'backup' }, { kind: 'Job', name: 'backup' });
    expect(
      mutate({ kind: 'Pod', namespace: 'shop', object: jobPod }, handedOff).metadata?.labels?.[IstioLabel.Revision],
    ).toBe('1-24-5');
  });

  it('pins the pod-template label of a workload assigned at workload granularity once its move started', () => {
    const deploy = (annotations: Record<string, string>): AdmittedObject => ({
      kind: 'Deployment',
      metadata: { name: 'cart' },
      spec: { template: { metadata: { labels: { app: 'cart', [IstioLabel.Revision]: '1-24-5' }, annotations } } },
    });
    const assignments = newAssignments({ 'shop/Deployment/cart': '1-25-2' });
    const moved = deploy({ [MeshwaveAnnotation.RestartedFor]: '1-25-2' });
    const out = mutate({ kind: 'Deployment', namespace: 'shop', object: moved }, assignments);
    expect(out.spec?.template?.metadata?.labels?.[IstioLabel.Revision]).toBe('1-25-2');
    const waiting = deploy({});
    expect(mutate({ kind: 'Deployment', namespace: 'shop', object: waiting }, assignments)).toBe(waiting);
  });

  it('leaves unmanaged objects and protected namespaces alone (same object back)', () => {
    const pod = newPod({ app: 'x' });
    expect(mutate({ kind: 'Pod', namespace: 'other', object: pod }, newAssignments({ shop: '1-25-2' }))).toBe(pod);
    expect(
      mutate({ kind: 'Pod', namespace: 'istio-system', object: pod }, newAssignments({ 'istio-system': '1-25-2' })),
    ).toBe(pod);
  });
});

describe('reviewAdmission', () => {
  it('answers allowed with the JSON patch computed by diff, creating the labels map when absent', () => {
    const pod: AdmittedObject = { kind: 'Pod', metadata: { generateName: 'x-' }, spec: {} };
    const answer = reviewAdmission(
      { request: { uid: 'u1', kind: { kind: 'Pod' }, namespace: 'shop', operation: 'CREATE', object: pod } },
      newAssignments({ shop: '1-25-2' }),
    );
    const response = answer.response as { uid: string; allowed: boolean; patch: string; patchType: string };
    expect(response).toMatchObject({ uid: 'u1', allowed: true, patchType: 'JSONPatch' });
    expect(JSON.parse(Buffer.from(response.patch, 'base64').toString())).toEqual([
      { op: 'add', path: '/metadata/labels', value: { [IstioLabel.Revision]: '1-25-2' } },
    ]);
  });

  it('sends no patch when nothing changes, and ignores pod UPDATEs', () => {
    const pod = newPod({ [IstioLabel.Revision]: '1-25-2' });
    const same = reviewAdmission(
      { request: { uid: 'u', kind: { kind: 'Pod' }, namespace: 'shop', operation: 'CREATE', object: pod } },
      newAssignments({ shop: '1-25-2' }),
    );
    expect((same.response as Record<string, unknown>).patch).toBeUndefined();
    const update = reviewAdmission(
      { request: { uid: 'u', kind: { kind: 'Pod' }, namespace: 'shop', operation: 'UPDATE', object: newPod({}) } },
      newAssignments({ shop: '1-25-2' }),
    );
    expect((update.response as Record<string, unknown>).patch).toBeUndefined();
  });
});

describe('diffJsonPatch', () => {
  it('escapes keys with / and ~ and replaces changed scalars', () => {
    expect(diffJsonPatch({ a: { 'istio.io/rev': 'x', 'k~': 1 } }, { a: { 'istio.io/rev': 'y' } })).toEqual([
      { op: 'remove', path: '/a/k~0' },
      { op: 'replace', path: '/a/istio.io~1rev', value: 'y' },
    ]);
  });
});

describe('webhook configuration', () => {
  it('never blocks, answers fast, runs before the injectors and skips the control-plane namespaces', () => {
    const cfg = webhookConfiguration({ caBundle: 'Q0E=', url: 'https://127.0.0.1:9443/mutate' }) as {
      metadata: { name: string };
      webhooks: Record<string, unknown>[];
    };
    expect(cfg.metadata.name < 'istio-sidecar-injector').toBe(true);
    for (const w of cfg.webhooks) {
      expect(w).toMatchObject({ failurePolicy: 'Ignore', reinvocationPolicy: 'IfNeeded', sideEffects: 'None' });
      expect(w.timeoutSeconds as number).toBeLessThanOrEqual(5);
      expect(JSON.stringify(w.namespaceSelector)).toContain('istio-system');
      expect(JSON.stringify(w.namespaceSelector)).toContain('meshwave');
    }
  });

  it('as a simulated admission step, labels the pod before the injector sees it', () => {
    const admit = simulatedAdmission(newAssignments({ 'shop/Deployment/cart': '1-25-2' }));
    const out = admit({
      namespace: 'shop',
      name: 'cart-1',
      labels: { app: 'cart' },
      annotations: { [MeshwaveAnnotation.RestartedFor]: '1-25-2' },
      owner: { namespace: 'shop', kind: 'Deployment', name: 'cart' },
    });
    expect(out.labels[IstioLabel.Revision]).toBe('1-25-2');
  });
});
