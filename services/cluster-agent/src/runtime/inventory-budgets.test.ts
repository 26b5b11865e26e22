import { describe, expect, it } from 'vitest';
import { workloadPreflightOf } from '../adapters/workload-preflight.js';
import { newDisruptionBudget as pdb } from '../core/disruption-budget-fixtures.js';
import type {
  KubernetesPort,
  ResourceViews,
  WatchEvent,
  WatchedResource,
  WorkloadView,
} from '../ports/kubernetes-port.js';
import { ClusterCache } from './cluster-cache.js';
import { InventoryBook } from './inventory.js';

type Emit = <R extends WatchedResource>(resource: R, event: WatchEvent<ResourceViews[R]>) => void;

/** A cache fed by hand (what the port's informers would deliver) and the inventory kept on it. */
function newInventory(): { emit: Emit; book: InventoryBook } {
  const handlers = new Map<WatchedResource, (e: WatchEvent<unknown>) => void>();
  const port = {
    watch: (resource: WatchedResource, handler: (e: WatchEvent<unknown>) => void) => {
      handlers.set(resource, handler);
      return { stop: () => handlers.delete(resource) };
    },
  } as unknown as KubernetesPort;
  const listener: { book?: InventoryBook } = {};
  const cache = new ClusterCache((change) => listener.book?.note(change));
  const book = (listener.book = new InventoryBook(cache));
  cache.start(port);
  const emit: Emit = (resource, event) => handlers.get(resource)!(event as WatchEvent<unknown>);
  return { emit, book };
}

const deployment = (name: string, replicas: number): WorkloadView => ({
  namespace: 'shop',
  kind: 'Deployment',
  name,
  labels: {},
  templateLabels: { app: name },
  templateAnnotations: {},
  selector: { app: name },
  replicas,
  generation: 1,
  observedGeneration: 1,
  updatedReplicas: replicas,
  availableReplicas: replicas,
  progressDeadlineExceeded: false,
  resourceVersion: '1',
  preflight: workloadPreflightOf({ template: { spec: { containers: [{ name: 'app', readinessProbe: {} }] } } }),
});

const noDisruption = (book: InventoryBook): Record<string, boolean | undefined> =>
  Object.fromEntries(book.workloads().map((w) => [w.name, w.preflight?.noDisruptionAllowed]));

describe('the inventory reads PodDisruptionBudgets', () => {
  it('Given a budget allowing no disruption over one Deployment, Then only that one is reported so, and a change to the budget is reported', () => {
    const { emit, book } = newInventory();
    emit('namespaces', { type: 'resync', objects: [{ name: 'shop', labels: {}, resourceVersion: '1' }] });
    emit('workloads', { type: 'resync', objects: [deployment('web', 2), deployment('api', 2)] });
    emit('pods', { type: 'resync', objects: [] });
    emit('disruptionBudgets', { type: 'resync', objects: [pdb({ maxUnavailable: 0 })] });
    book.refresh();
    expect(noDisruption(book)).toEqual({ web: true, api: false });
    book.takeChanges();

    // the budget relaxed: one pod may go
    emit('disruptionBudgets', { type: 'upsert', object: pdb({ maxUnavailable: 1, resourceVersion: '6' }) });
    expect(book.refresh()).toBe(true);
    expect(noDisruption(book)).toEqual({ web: false, api: false });
    expect(book.takeChanges().upserted.map((w) => w.name)).toEqual(['web']);

    // minAvailable = replicas: none may go; then the Deployment scaled up: one may
    emit('disruptionBudgets', { type: 'upsert', object: pdb({ minAvailable: 2, resourceVersion: '7' }) });
    book.refresh();
    expect(noDisruption(book).web).toBe(true);
    emit('workloads', { type: 'upsert', object: { ...deployment('web', 3), resourceVersion: '8' } });
    book.refresh();
    expect(noDisruption(book).web).toBe(false);

    emit('disruptionBudgets', { type: 'upsert', object: pdb({ maxUnavailable: '0%', resourceVersion: '9' }) });
    book.refresh();
    expect(noDisruption(book).web).toBe(true);
    emit('disruptionBudgets', { type: 'delete', object: pdb({ resourceVersion: '10' }) });
    book.refresh();
    expect(noDisruption(book)).toEqual({ web: false, api: false });
  });
});
