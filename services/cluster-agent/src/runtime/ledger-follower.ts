import { unitKey } from '@meshwave/contracts';
import { MeshwaveLabel } from '@meshwave/istio';
import type { StateStore } from '@meshwave/store';
import type { Logger } from '@meshwave/telemetry';
import { assignments, emptyLedger, type CommandLedger } from '../core/command-ledger.js';
import type { AssignmentSource } from '../ports/assignment-source.js';
import type { KubernetesPort } from '../ports/kubernetes-port.js';
import { LEDGER_DOC, ledgerScope } from './command-intake.js';

/**
 * What a replica that is not the leader answers the webhook with: the ledger the leader persisted, re-read
 * every few seconds. Every replica serves the webhook; only the leader converges.
 */
export function followLedger(store: StateStore, cluster: string, log: Logger): AssignmentSource & { stop(): void } {
  let units = new Map<string, string>();
  const refresh = async (): Promise<void> => {
    try {
      const doc = await store.read(ledgerScope(cluster), LEDGER_DOC);
      const ledger = (doc?.value as CommandLedger | undefined) ?? emptyLedger();
      units = new Map(assignments(ledger).units.map((u) => [unitKey(u.target), u.target.revision]));
    } catch (err) {
      log.warn({ err }, 'reading the ledger for the webhook failed; keeping the last one');
    }
  };
  void refresh();
  const timer = setInterval(() => void refresh(), 5_000);
  timer.unref();
  return {
    revisionFor: (namespace, workload) =>
      units.get(workload ? unitKey({ namespace, kind: workload.kind, name: workload.name }) : namespace),
    stop: () => clearInterval(timer),
  };
}

/** Every replica serves the webhook, leader or not: it watches the namespaces' handoff labels itself (ADR 0011). */
export function watchHandoffs(kube: KubernetesPort): {
  revisionOf(namespace: string): string | undefined;
  stop(): void;
} {
  const handoffs = new Map<string, string>();
  const namespaceWatch = kube.watch('namespaces', (event) => {
    const objects = event.type === 'resync' ? event.objects : [event.object];
    if (event.type === 'resync') handoffs.clear();
    for (const ns of objects) {
      const revision = event.type === 'delete' ? undefined : ns.labels[MeshwaveLabel.HandoffOf];
      if (revision === undefined) handoffs.delete(ns.name);
      else handoffs.set(ns.name, revision);
    }
  });
  return { revisionOf: (namespace) => handoffs.get(namespace), stop: () => namespaceWatch.stop() };
}
