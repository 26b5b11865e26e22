import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { UnitFailureReason, UnitState } from '@meshwave/contracts';
import {
  assessUnit,
  selectUnitsToStart,
  unitWrites,
  type UnitAssessment,
  type UnitAssignment,
  type UnitObservation,
} from './converge-decisions.js';
import type { NamespaceView, PodView, WorkloadView } from '../ports/kubernetes-port.js';
import { IstioAnnotation, IstioLabel, MeshwaveAnnotation, MeshwaveLabel } from '@meshwave/istio';

const NOW = Date.parse('2026-03-01T12:00:00Z');

const newAssignment = (over: Partial<UnitAssignment> = {}): UnitAssignment => ({
  target: { namespace: 'shop', revision: '1-25-2' },
  granularity: 'namespace',
  rolloutId: 'r1',
  generation: 3,
  wave: 1,
  progressDeadlineSeconds: 600,
  ...over,
});
const newNamespace = (labels: Record<string, string>): NamespaceView => ({
  name: 'shop',
  labels,
  resourceVersion: '10',
});
const newWorkload = (over: Partial<WorkloadView> = {}): WorkloadView => ({
  namespace: 'shop',
  kind: 'Deployment',
  name: 'cart',
  labels: {},
  templateLabels: { app: 'cart' },
  templateAnnotations: {},
  selector: { app: 'cart' },
  replicas: 2,
  generation: 1,
  observedGeneration: 1,
  updatedReplicas: 2,
  availableReplicas: 2,
  progressDeadlineExceeded: false,
  resourceVersion: '20',
  ...over,
});
const newPod = (
  revision: string | null,
  over: Partial<PodView> = {},
  version = revision?.replaceAll('-', '.'),
): PodView => ({
  namespace: 'shop',
  name: `cart-${Math.random().toString(36).slice(2, 7)}`,
  labels: { app: 'cart' },
  annotations: revision
    ? { [IstioAnnotation.SidecarStatus]: JSON.stringify({ containers: ['istio-proxy'], revision }) }
    : {},
  controlled: true,
  containers: [
    { name: 'app', image: 'app:1' },
    ...(revision ? [{ name: 'istio-proxy', image: `docker.io/istio/proxyv2:${version}` }] : []),
  ],
  phase: 'Running',
  ready: true,
  restarts: 0,
  crashLooping: false,
  terminating: false,
  resourceVersion: '1',
  ...over,
});
const observe = (ns: NamespaceView, w: WorkloadView, pods: PodView[]): UnitObservation => ({
  namespace: ns,
  workloads: [{ workload: w, pods }],
  barePods: [],
});
const restarted = (revision: string, at = '2026-03-01T11:55:00Z'): Record<string, string> => ({
  [MeshwaveAnnotation.RestartedFor]: revision,
  [MeshwaveAnnotation.RestartedAt]: at,
});

describe('assessUnit', () => {
  it('Given a namespace still on the old revision, it is pending and every workload needs a restart', () => {
    const a = assessUnit(
      newAssignment(),
      observe(newNamespace({ [IstioLabel.Revision]: '1-24-5' }), newWorkload(), [newPod('1-24-5'), newPod('1-24-5')]),
      NOW,
    );
    expect(a.state).toBe(UnitState.Pending);
    expect(a.inFlight).toBe(false);
    expect(a.toRestart).toHaveLength(1);
    expect(a.injectedRevision).toBe('1-24-5');
  });

  it('Given a restart already marked for the target, it is in flight and never restarted again', () => {
    const w = newWorkload({
      generation: 2,
      observedGeneration: 2,
      updatedReplicas: 1,
      templateAnnotations: restarted('1-25-2'),
    });
    const a = assessUnit(
      newAssignment(),
      observe(newNamespace({ [IstioLabel.Revision]: '1-25-2' }), w, [newPod('1-24-5'), newPod('1-25-2')]),
      NOW,
    );
    expect(a.state).toBe(UnitState.Restarting);
    expect(a.inFlight).toBe(true);
    expect(a.toRestart).toHaveLength(0);
  });

  it('Given Ready pods with the target sidecar and proxy, it is converged', () => {
    const w = newWorkload({ templateAnnotations: restarted('1-25-2') });
    const a = assessUnit(
      newAssignment(),
      observe(newNamespace({ [IstioLabel.Revision]: '1-25-2' }), w, [newPod('1-25-2'), newPod('1-25-2')]),
      NOW,
    );
    expect(a.state).toBe(UnitState.Converged);
  });

  it('Given a surge pod still present, it is not converged yet', () => {
    const w = newWorkload({ templateAnnotations: restarted('1-25-2') });
    const a = assessUnit(
      newAssignment(),
      observe(newNamespace({ [IstioLabel.Revision]: '1-25-2' }), w, [
        newPod('1-25-2'),
        newPod('1-25-2'),
        newPod('1-24-5'),
      ]),
      NOW,
    );
    expect(a.state).toBe(UnitState.Restarting);
  });

  it('Given the right revision but a proxy image of another version, it fails with SidecarMismatch', () => {
    const w = newWorkload({ templateAnnotations: restarted('1-25-2') });
    const pods = [newPod('1-25-2'), newPod('1-25-2', {}, '1.24.5')];
    const a = assessUnit(newAssignment(), observe(newNamespace({ [IstioLabel.Revision]: '1-25-2' }), w, pods), NOW);
    expect(a.state).toBe(UnitState.Failed);
    expect(a.reason).toBe(UnitFailureReason.SidecarMismatch);
  });

  it('Given a crash-looping new pod, it fails with CrashLoopBackOff', () => {
    const w = newWorkload({ updatedReplicas: 1, templateAnnotations: restarted('1-25-2') });
    const pods = [
      newPod('1-24-5'),
      newPod('1-24-5'),
      newPod('1-25-2', { ready: false, crashLooping: true, restarts: 4 }),
    ];
    const a = assessUnit(newAssignment(), observe(newNamespace({ [IstioLabel.Revision]: '1-25-2' }), w, pods), NOW);
    expect(a.state).toBe(UnitState.Failed);
    expect(a.reason).toBe(UnitFailureReason.CrashLoop);
    expect(a.restarts).toBe(4);
  });

  it('Given a unit failed on the target, When an operator retries it (attempt 1), Then it restarts once more, marked with the attempt, and is judged again', () => {
    const crashing = [newPod('1-24-5'), newPod('1-25-2', { ready: false, crashLooping: true, restarts: 4 })];
    const ns = newNamespace({});
    const failed = newWorkload({ updatedReplicas: 1, templateAnnotations: restarted('1-25-2') });
    const retry = newAssignment({
      granularity: 'workload',
      target: { namespace: 'shop', kind: 'Deployment', name: 'cart', revision: '1-25-2', attempt: 1 },
    });
    expect(
      assessUnit({ ...retry, target: { ...retry.target, attempt: undefined } }, observe(ns, failed, crashing), NOW)
        .state,
    ).toBe(UnitState.Failed);
    const a = assessUnit(retry, observe(ns, failed, crashing), NOW);
    expect(a.state).toBe(UnitState.Pending);
    expect(a.toRestart.map((w) => w.workload.name)).toEqual(['cart']);
    const writes = unitWrites(retry, observe(ns, failed, crashing), a.toRestart, '2026-03-01T12:00:00Z');
    expect(writes.workloads[0]!.templateAnnotations).toMatchObject({ [MeshwaveAnnotation.RestartAttempt]: '1' });
    // Once the retry's restart is written, it is judged, never repeated.
    const retried = newWorkload({
      updatedReplicas: 1,
      templateAnnotations: { ...restarted('1-25-2', '2026-03-01T12:00:00Z'), [MeshwaveAnnotation.RestartAttempt]: '1' },
    });
    expect(assessUnit(retry, observe(ns, retried, crashing), NOW)).toMatchObject({
      state: UnitState.Failed,
      reason: UnitFailureReason.CrashLoop,
      toRestart: [],
    });
  });

  it('Given a restart older than the progress deadline, it fails with ProgressDeadlineExceeded', () => {
    const w = newWorkload({ updatedReplicas: 1, templateAnnotations: restarted('1-25-2', '2026-03-01T11:00:00Z') });
    const a = assessUnit(
      newAssignment(),
      observe(newNamespace({ [IstioLabel.Revision]: '1-25-2' }), w, [
        newPod('1-24-5'),
        newPod('1-25-2', { ready: false }),
      ]),
      NOW,
    );
    expect(a.reason).toBe(UnitFailureReason.ProgressDeadlineExceeded);
  });

  it('Given a missing workload at workload granularity, it fails with NotFound', () => {
    const a = assessUnit(
      newAssignment({
        granularity: 'workload',
        target: { namespace: 'shop', kind: 'Deployment', name: 'gone', revision: '1-25-2' },
      }),
      { namespace: newNamespace({}), workloads: [], barePods: [] },
      NOW,
    );
    expect(a.reason).toBe(UnitFailureReason.NotFound);
  });
});

describe('unitWrites', () => {
  it('labels the namespace, drops istio-injection, and restarts with a compare-and-set patch that records the target', () => {
    const ns = newNamespace({ [IstioLabel.Injection]: 'enabled' });
    const w = newWorkload();
    const obs = observe(ns, w, [newPod('default')]);
    const writes = unitWrites(newAssignment(), obs, obs.workloads, '2026-03-01T12:00:00.000Z');
    expect(writes.namespace).toEqual({
      name: 'shop',
      labels: { [IstioLabel.Revision]: '1-25-2', [IstioLabel.Injection]: null, [MeshwaveLabel.HandoffOf]: null },
      resourceVersion: '10',
    });
    expect(writes.workloads[0]).toMatchObject({
      resourceVersion: '20',
      restart: true,
      templateAnnotations: {
        [MeshwaveAnnotation.RestartedAt]: '2026-03-01T12:00:00.000Z',
        [MeshwaveAnnotation.RestartedFor]: '1-25-2',
        [MeshwaveAnnotation.RestartedBy]: 'r1#3',
      },
    });
  });

  it('at namespace granularity brings a template label of another revision in line in the restart patch', () => {
    const w = newWorkload({ templateLabels: { app: 'cart', [IstioLabel.Revision]: '1-24-5' } });
    const obs = observe(newNamespace({ [IstioLabel.Revision]: '1-24-5' }), w, [newPod('1-24-5')]);
    const writes = unitWrites(newAssignment(), obs, obs.workloads, '2026-03-01T12:00:00.000Z');
    expect(writes.workloads[0]?.templateLabels).toEqual({ [IstioLabel.Revision]: '1-25-2' });
  });

  it('at workload granularity pins the template label and the workload label in the restart patch', () => {
    const w = newWorkload();
    const obs = observe(newNamespace({}), w, [newPod('1-24-5')]);
    const a = newAssignment({
      granularity: 'workload',
      target: { namespace: 'shop', kind: 'Deployment', name: 'cart', revision: '1-25-2' },
    });
    const writes = unitWrites(a, obs, obs.workloads, '2026-03-01T12:00:00.000Z');
    expect(writes.namespace).toBeUndefined();
    expect(writes.workloads[0]?.templateLabels).toEqual({ [IstioLabel.Revision]: '1-25-2' });
    expect(writes.workloads[0]?.labels).toEqual({ [IstioLabel.Revision]: '1-25-2' });
  });
});

describe('selectUnitsToStart', () => {
  const unit = (key: string, state: UnitState, inFlight: boolean): UnitAssessment => ({
    key,
    state,
    inFlight,
    injectedRevision: null,
    toRestart: [],
    hasWrites: false,
    unavailableReplicas: 0,
    restarts: 0,
    crashLooping: false,
    sidecarMismatch: false,
  });

  it('never lets more than maxUnavailable units be in flight, and starts nothing when halted', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(UnitState.Pending, UnitState.Restarting, UnitState.Converged, UnitState.Failed), {
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 10 }),
        fc.boolean(),
        (states, maxUnavailable, halted) => {
          const units = states.map((s, i) => unit(`u${i}`, s, s === UnitState.Restarting));
          const { start, inFlight } = selectUnitsToStart(units, { maxUnavailable, halted });
          if (halted) expect(start).toEqual([]);
          expect(inFlight + start.length).toBeLessThanOrEqual(Math.max(maxUnavailable, inFlight));
          for (const key of start) expect(units.find((u) => u.key === key)?.state).toBe(UnitState.Pending);
        },
      ),
    );
  });
});

describe('namespace label handoff (workload granularity in a revision-labelled namespace)', () => {
  const cartUnit = newAssignment({
    granularity: 'workload',
    target: { namespace: 'shop', kind: 'Deployment', name: 'cart', revision: '1-25-2' },
  });
  const newWebWorkload = (over: Partial<WorkloadView> = {}): WorkloadView =>
    newWorkload({
      name: 'web',
      selector: { app: 'web' },
      templateLabels: { app: 'web' },
      resourceVersion: '30',
      ...over,
    });
  const webPod = (over: Partial<PodView> = {}): PodView => newPod('1-24-5', { labels: { app: 'web' }, ...over });
  const handoffMarks = (at = '2026-03-01T11:58:00Z'): Record<string, string> => ({
    [MeshwaveAnnotation.HandoffOf]: '1-24-5',
    [MeshwaveAnnotation.HandoffAt]: at,
  });
  const labelled = { app: 'cart', [IstioLabel.Revision]: '1-24-5' };
  const observeShop = (
    nsLabels: Record<string, string>,
    cart: WorkloadView,
    cartPods: PodView[],
    web: WorkloadView,
    webPods: PodView[],
  ): UnitObservation => ({
    namespace: newNamespace(nsLabels),
    workloads: [{ workload: cart, pods: cartPods }],
    namespaceWorkloads: [
      { workload: cart, pods: cartPods },
      { workload: web, pods: webPods },
    ],
    barePods: [],
  });

  it('Given the namespace label injects the old revision, the unit is pending and its first step labels every template with it', () => {
    const obs = observeShop({ [IstioLabel.Revision]: '1-24-5' }, newWorkload(), [newPod('1-24-5')], newWebWorkload(), [
      webPod(),
    ]);
    const a = assessUnit(cartUnit, obs, NOW);
    expect(a.state).toBe(UnitState.Pending);
    expect(a.hasWrites).toBe(true);
    expect(a.toRestart).toEqual([]);
    expect(a.handoff).toMatchObject({ revision: '1-24-5', started: false });
    const writes = unitWrites(cartUnit, obs, a.toRestart, '2026-03-01T12:00:00.000Z');
    expect(writes.namespace).toBeUndefined();
    const written = { ...handoffMarks('2026-03-01T12:00:00.000Z'), [MeshwaveAnnotation.RestartedFor]: null };
    expect(writes.workloads.map((w) => [w.ref.name, w.templateLabels, w.templateAnnotations])).toEqual([
      ['cart', { [IstioLabel.Revision]: '1-24-5' }, written],
      ['web', { [IstioLabel.Revision]: '1-24-5' }, written],
    ]);
  });

  it('Given a workload that opts out of injection, the handoff leaves it alone', () => {
    const optedOut = newWebWorkload({ templateLabels: { app: 'web', [IstioLabel.Inject]: 'false' } });
    const obs = observeShop(
      { [IstioLabel.Revision]: '1-24-5' },
      newWorkload({ templateLabels: labelled, templateAnnotations: handoffMarks() }),
      [newPod('1-24-5', { labels: { app: 'cart', [IstioLabel.Revision]: '1-24-5' } })],
      optedOut,
      [newPod(null, { labels: { app: 'web' } })],
    );
    const a = assessUnit(cartUnit, obs, NOW);
    expect(a.handoff?.toLabel).toEqual([]);
    expect(a.handoff?.waitingFor).toEqual([]);
  });

  it('Given a template with a stale label of another revision, the handoff relabels it too, and waits for its pods', () => {
    const stale = newWebWorkload({ templateLabels: { app: 'web', [IstioLabel.Revision]: '1-23-0' } });
    const obs = observeShop(
      { [IstioLabel.Revision]: '1-24-5' },
      newWorkload({ templateLabels: labelled, templateAnnotations: handoffMarks() }),
      [newPod('1-24-5', { labels: { app: 'cart', [IstioLabel.Revision]: '1-24-5' } })],
      stale,
      [webPod({ labels: { app: 'web', [IstioLabel.Revision]: '1-23-0' } })],
    );
    const a = assessUnit(cartUnit, obs, NOW);
    expect(a.handoff?.toLabel.map((w) => w.workload.name)).toEqual(['web']);
    const relabelled = {
      ...obs,
      namespaceWorkloads: [
        obs.namespaceWorkloads![0]!,
        {
          workload: { ...stale, templateLabels: { app: 'web', [IstioLabel.Revision]: '1-24-5' } },
          pods: [webPod({ labels: { app: 'web', [IstioLabel.Revision]: '1-23-0' } })],
        },
      ],
    };
    expect(assessUnit(cartUnit, relabelled, NOW).handoff?.waitingFor).toEqual(['Deployment/web']);
  });

  it("Given a batch of one (the rollout's maxUnavailable), the handoff restarts one template at a time: the next only once the last rolled out", () => {
    const batched = { ...cartUnit, handoffBatch: 1 };
    const ns = { [IstioLabel.Revision]: '1-24-5' };
    const step1 = observeShop(ns, newWorkload(), [newPod('1-24-5')], newWebWorkload(), [webPod()]);
    expect(assessUnit(batched, step1, NOW)).toMatchObject({ hasWrites: true, handoff: { room: 1 } });
    expect(unitWrites(batched, step1, [], '2026-03-01T12:00:00.000Z').workloads.map((w) => w.ref.name)).toEqual([
      'cart',
    ]);
    // cart's handoff restart is under way: no room for web, and nothing to write meanwhile
    const rolling = newWorkload({
      templateLabels: labelled,
      templateAnnotations: handoffMarks(),
      generation: 2,
      observedGeneration: 2,
      updatedReplicas: 1,
    });
    const step2 = observeShop(ns, rolling, [newPod('1-24-5')], newWebWorkload(), [webPod()]);
    const a2 = assessUnit(batched, step2, NOW);
    expect(a2).toMatchObject({ state: UnitState.Restarting, hasWrites: false, handoff: { room: 0 } });
    expect(a2.handoff?.waitingFor).toEqual(['Deployment/cart']);
    expect(unitWrites(batched, step2, [], '2026-03-01T12:00:01.000Z').workloads).toEqual([]);
    // cart rolled out: web's turn
    const done = { ...rolling, updatedReplicas: 2 };
    const cartPods = [newPod('1-24-5', { labels: labelled }), newPod('1-24-5', { labels: labelled })];
    const step3 = observeShop(ns, done, cartPods, newWebWorkload(), [webPod()]);
    expect(assessUnit(batched, step3, NOW)).toMatchObject({ hasWrites: true, handoff: { room: 1 } });
    expect(unitWrites(batched, step3, [], '2026-03-01T12:00:02.000Z').workloads.map((w) => w.ref.name)).toEqual([
      'web',
    ]);
    // without a batch (an assignment of before), every template in one step, as ADR 0011 first did
    expect(unitWrites(cartUnit, step1, [], '2026-03-01T12:00:00.000Z').workloads).toHaveLength(2);
  });

  it('Given every template handed over but a rollout still running, the unit waits without writes (no busy retry)', () => {
    const obs = observeShop(
      { [IstioLabel.Revision]: '1-24-5' },
      newWorkload({ templateLabels: labelled }),
      [newPod('1-24-5', { labels: { app: 'cart', [IstioLabel.Revision]: '1-24-5' } })],
      newWebWorkload({ templateLabels: { app: 'web', [IstioLabel.Revision]: '1-24-5' }, updatedReplicas: 1 }),
      [webPod()],
    );
    const a = assessUnit(cartUnit, obs, NOW);
    expect(a.state).toBe(UnitState.Pending);
    expect(a.hasWrites).toBe(false);
  });

  it('Given an evicted pod of the old template, it does not hold the handoff back', () => {
    const obs = observeShop(
      { [IstioLabel.Revision]: '1-24-5' },
      newWorkload({ templateLabels: labelled, templateAnnotations: handoffMarks() }),
      [newPod('1-24-5', { labels: { app: 'cart', [IstioLabel.Revision]: '1-24-5' } })],
      newWebWorkload({ templateLabels: { app: 'web', [IstioLabel.Revision]: '1-24-5' }, replicas: 1 }),
      [webPod({ labels: { app: 'web', [IstioLabel.Revision]: '1-24-5' } }), webPod({ phase: 'Failed', ready: false })],
    );
    expect(assessUnit(cartUnit, obs, NOW).handoff?.waitingFor).toEqual([]);
  });

  it('Given a failback to the namespace revision while the handoff restart runs, the workload is not restarted again', () => {
    const failback = newAssignment({ ...cartUnit, target: { ...cartUnit.target, revision: '1-24-5' } });
    const cart = newWorkload({
      templateLabels: labelled,
      templateAnnotations: handoffMarks(),
      generation: 2,
      updatedReplicas: 1,
    });
    const obs = observeShop(
      { [IstioLabel.Revision]: '1-24-5' },
      cart,
      [newPod('1-24-5'), newPod('1-24-5')],
      newWebWorkload(),
      [],
    );
    const a = assessUnit(failback, obs, NOW);
    expect(a.toRestart).toEqual([]);
    expect(a.state).toBe(UnitState.Restarting);
  });

  it('Given istio-injection=disabled, the unit fails at once and nothing is restarted', () => {
    const obs = observeShop(
      { [IstioLabel.Injection]: 'disabled' },
      newWorkload(),
      [newPod(null)],
      newWebWorkload(),
      [],
    );
    const a = assessUnit(cartUnit, obs, NOW);
    expect(a.state).toBe(UnitState.Failed);
    expect(a.reason).toBe(UnitFailureReason.InjectionDisabled);
    expect(a.toRestart).toEqual([]);
  });

  it('Given istio-injection=enabled, the templates take over the default tag', () => {
    const obs = observeShop(
      { [IstioLabel.Injection]: 'enabled' },
      newWorkload(),
      [newPod('default')],
      newWebWorkload(),
      [webPod()],
    );
    const writes = unitWrites(cartUnit, obs, [], '2026-03-01T12:00:00.000Z');
    expect(writes.workloads.map((w) => w.templateLabels?.[IstioLabel.Revision])).toEqual(['default', 'default']);
  });

  it('Given labelled templates whose old pods are still running, it is in flight and writes nothing', () => {
    const cart = newWorkload({ templateLabels: labelled, templateAnnotations: handoffMarks(), generation: 2 });
    const web = newWebWorkload({
      templateLabels: { app: 'web', [IstioLabel.Revision]: '1-24-5' },
      templateAnnotations: handoffMarks(),
      generation: 2,
      observedGeneration: 2,
      updatedReplicas: 1,
    });
    const obs = observeShop({ [IstioLabel.Revision]: '1-24-5' }, cart, [newPod('1-24-5')], web, [webPod()]);
    const a = assessUnit(cartUnit, obs, NOW);
    expect(a.state).toBe(UnitState.Restarting);
    expect(a.inFlight).toBe(true);
    expect(a.hasWrites).toBe(false);
    expect(a.handoff?.waitingFor).toEqual(['Deployment/cart', 'Deployment/web']);
    expect(unitWrites(cartUnit, obs, [], '2026-03-01T12:00:00.000Z')).toEqual({ workloads: [] });
  });

  it('Given every pod comes from a labelled template, the next step removes the namespace labels only', () => {
    const cart = newWorkload({ templateLabels: labelled, templateAnnotations: handoffMarks() });
    const web = newWebWorkload({
      templateLabels: { app: 'web', [IstioLabel.Revision]: '1-24-5' },
      templateAnnotations: handoffMarks(),
    });
    const podLabel = { [IstioLabel.Revision]: '1-24-5' };
    const obs = observeShop(
      { [IstioLabel.Revision]: '1-24-5' },
      cart,
      [
        newPod('1-24-5', { labels: { app: 'cart', ...podLabel } }),
        newPod('1-24-5', { labels: { app: 'cart', ...podLabel } }),
      ],
      web,
      [webPod({ labels: { app: 'web', ...podLabel } }), webPod({ labels: { app: 'web', ...podLabel } })],
    );
    const a = assessUnit(cartUnit, obs, NOW);
    expect(a.hasWrites).toBe(true);
    const writes = unitWrites(cartUnit, obs, a.toRestart, '2026-03-01T12:00:00.000Z');
    expect(writes).toEqual({
      namespace: {
        name: 'shop',
        labels: { [IstioLabel.Revision]: null, [IstioLabel.Injection]: null, [MeshwaveLabel.HandoffOf]: '1-24-5' },
        resourceVersion: '10',
      },
      workloads: [],
    });
    // Once the namespace label is gone, the unit is an ordinary workload move that needs its own restart.
    const after = assessUnit(cartUnit, { ...obs, namespace: newNamespace({}) }, NOW);
    expect(after.handoff).toBeUndefined();
    expect(after.state).toBe(UnitState.Pending);
    expect(after.toRestart.map((w) => w.workload.name)).toEqual(['cart']);
  });

  it('Given a handoff restart past the progress deadline, the unit fails with the workload named', () => {
    const cart = newWorkload({ templateLabels: labelled, templateAnnotations: handoffMarks('2026-03-01T11:00:00Z') });
    const web = newWebWorkload({ templateLabels: { app: 'web', [IstioLabel.Revision]: '1-24-5' } });
    const obs = observeShop({ [IstioLabel.Revision]: '1-24-5' }, cart, [newPod('1-24-5')], web, []);
    const a = assessUnit(cartUnit, obs, NOW);
    expect(a.state).toBe(UnitState.Failed);
    expect(a.reason).toBe(UnitFailureReason.ProgressDeadlineExceeded);
    expect(a.message).toContain('cart: not rolled out within 600s');
  });

  it('Given a workload handed over and then moved, When it is failed back long after, Then it restarts toward the namespace revision again (the handoff mark is history)', () => {
    // The namespace label is gone (handed over), cart moved to 1-25-2 an hour ago and converged there.
    const failback = newAssignment({ ...cartUnit, target: { ...cartUnit.target, revision: '1-24-5' } });
    const moved = { app: 'cart', [IstioLabel.Revision]: '1-25-2' };
    const cart = newWorkload({
      labels: { [IstioLabel.Revision]: '1-25-2' },
      templateLabels: moved,
      templateAnnotations: {
        ...handoffMarks('2026-03-01T10:58:00Z'),
        ...restarted('1-25-2', '2026-03-01T11:00:00Z'),
      },
      generation: 3,
      observedGeneration: 3,
    });
    const pods = [newPod('1-25-2', { labels: moved }), newPod('1-25-2', { labels: moved })];
    const obs = observeShop({ [MeshwaveLabel.HandoffOf]: '1-24-5' }, cart, pods, newWebWorkload(), []);
    const a = assessUnit(failback, obs, NOW);
    expect(a.state).toBe(UnitState.Pending);
    expect(a.reason).toBeUndefined();
    expect(a.toRestart.map((w) => w.workload.name)).toEqual(['cart']);
    const writes = unitWrites(failback, obs, a.toRestart, '2026-03-01T12:00:00.000Z');
    expect(writes.workloads).toMatchObject([
      {
        ref: { name: 'cart' },
        templateLabels: { [IstioLabel.Revision]: '1-24-5' },
        templateAnnotations: { [MeshwaveAnnotation.RestartedFor]: '1-24-5' },
        restart: true,
      },
    ]);
    // Once restarted for the failback, that restart is judged from its own time, not the move's.
    const restarting = newWorkload({
      ...cart,
      templateLabels: labelled,
      templateAnnotations: { ...cart.templateAnnotations, ...restarted('1-24-5', '2026-03-01T12:00:00.000Z') },
      generation: 4,
      updatedReplicas: 1,
    });
    const during = assessUnit(failback, observeShop({}, restarting, pods, newWebWorkload(), []), NOW + 5_000);
    expect(during.state).toBe(UnitState.Restarting);
    expect(during.toRestart).toEqual([]);
  });

  it('Given a failback to the namespace revision during the handoff, the deadline runs from the handoff restart, not an older restart', () => {
    const failback = newAssignment({ ...cartUnit, target: { ...cartUnit.target, revision: '1-24-5' } });
    // An operator's `kubectl rollout restart` an hour before the handoff left its restartedAt on the template.
    const cart = newWorkload({
      templateLabels: labelled,
      templateAnnotations: { [MeshwaveAnnotation.RestartedAt]: '2026-03-01T11:00:00Z', ...handoffMarks() },
      generation: 2,
      updatedReplicas: 1,
    });
    const obs = observeShop({ [IstioLabel.Revision]: '1-24-5' }, cart, [newPod('1-24-5')], newWebWorkload(), []);
    const a = assessUnit(failback, obs, NOW);
    expect(a.state).toBe(UnitState.Restarting);
    expect(a.toRestart).toEqual([]);
    expect(assessUnit(failback, obs, Date.parse('2026-03-01T12:08:01Z')).reason).toBe(
      UnitFailureReason.ProgressDeadlineExceeded,
    );
  });

  it('Given a template whose handoff mark a later restart superseded, the mark neither starts the handoff nor times it', () => {
    // web was handed over long ago, then restarted for 1-24-5 by a namespace failback; its rollout still runs.
    const web = newWebWorkload({
      templateLabels: { app: 'web', [IstioLabel.Revision]: '1-24-5' },
      templateAnnotations: { ...handoffMarks('2026-03-01T09:00:00Z'), ...restarted('1-24-5', '2026-03-01T11:59:00Z') },
      updatedReplicas: 1,
    });
    const obs = observeShop({ [IstioLabel.Revision]: '1-24-5' }, newWorkload(), [newPod('1-24-5')], web, [
      webPod(),
      webPod(),
    ]);
    const a = assessUnit(cartUnit, obs, NOW);
    expect(a.state).toBe(UnitState.Pending);
    expect(a.handoff).toMatchObject({ started: false, waitingFor: ['Deployment/web'] });
    expect(a.handoff?.failure).toBeUndefined();
  });

  it('Given the namespace label already injects the target, no handoff and no restart is needed', () => {
    const obs = observeShop(
      { [IstioLabel.Revision]: '1-25-2' },
      newWorkload(),
      [newPod('1-25-2'), newPod('1-25-2')],
      newWebWorkload(),
      [],
    );
    const a = assessUnit(cartUnit, obs, NOW);
    expect(a.handoff).toBeUndefined();
    expect(a.state).toBe(UnitState.Converged);
  });
});
