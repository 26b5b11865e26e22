import { WorkloadKind } from '@meshwave/contracts';
import type { DeploymentObject } from '../core/gateway-step.js';
import type { GatewayDeploymentPort } from '../ports/gateway-port.js';
import { workloadRefKey } from '../ports/kubernetes-port.js';
import { newPod, newSimWorkload, rolloutDone, slowFactor, startPod, touch } from './simulated-pods.js';
import { targetMatches, type SimStore, type SimWorkload } from './simulated-store.js';

// The gateway canary's writes (ADR 0047) on the simulated cluster, for the embedded demo: a Deployment created from
// a body, scaled and deleted, its controller making and retiring pods as a ReplicaSet would. The simulation has no
// Gateway API objects: a `gateway-api` step finds no Gateway and fails saying so.

const deploymentOf = (s: SimStore, namespace: string, name: string): SimWorkload | undefined =>
  s.workloads.get(workloadRefKey({ namespace, kind: WorkloadKind.Deployment, name }));

/** The controller brings the workload's pods to its replicas: new ones start after the pod start time. */
function scalePods(s: SimStore, w: SimWorkload): void {
  const own = s.podsOf(w);
  if (own.length > w.replicas) {
    // not-ready pods go first, then the newest, as a ReplicaSet scales down
    const retire = [...own].sort((a, b) => Number(a.ready) - Number(b.ready) || b.rv - a.rv);
    for (const p of retire.slice(0, own.length - w.replicas)) {
      s.removePod(p);
      s.emit('pods', { type: 'delete', object: s.podView(p) });
    }
  }
  const created = Array.from({ length: Math.max(0, w.replicas - own.length) }, () => newPod(s, w));
  for (const p of created) s.emit('pods', { type: 'upsert', object: s.podView(p) });
  if (created.length > 0)
    w.timers.push(
      s.clock.setTimer(s.podStartMs * slowFactor(s, w), () => {
        if (s.closed) return;
        for (const p of created) {
          if (!s.pods.has(`${p.namespace}/${p.name}`)) continue;
          startPod(s, p, w.ref);
          s.emit('pods', { type: 'upsert', object: s.podView(p) });
        }
        touch(s, w);
      }),
    );
  touch(s, w);
}

export function simulatedGateways(s: SimStore): GatewayDeploymentPort {
  return {
    readDeployment(namespace, name) {
      s.stats.requests++;
      const w = deploymentOf(s, namespace, name);
      if (w === undefined) return Promise.resolve(undefined);
      const body: DeploymentObject = {
        metadata: { name, namespace, labels: { ...w.labels } },
        spec: {
          replicas: w.replicas,
          selector: { matchLabels: { ...w.selector } },
          template: { metadata: { labels: { ...w.templateLabels }, annotations: { ...w.templateAnnotations } } },
        },
      };
      return Promise.resolve(body);
    },

    createDeployment(namespace, body) {
      s.stats.requests++;
      const name = body.metadata?.name ?? '';
      if (deploymentOf(s, namespace, name) !== undefined) return Promise.resolve('exists');
      const template = body.spec?.template?.metadata ?? {};
      const w = newSimWorkload(s, {
        ref: { namespace, kind: WorkloadKind.Deployment, name },
        labels: { ...body.metadata?.labels },
        templateLabels: { ...template.labels },
        templateAnnotations: { ...(template['annotations'] as Record<string, string> | undefined) },
        selector: { ...body.spec?.selector?.matchLabels },
        replicas: body.spec?.replicas ?? 1,
      });
      s.putWorkload(w);
      scalePods(s, w);
      return Promise.resolve('created');
    },

    scaleDeployment(namespace, name, replicas) {
      s.stats.requests++;
      s.stats.patches++;
      const w = deploymentOf(s, namespace, name);
      if (w !== undefined && w.replicas !== replicas) {
        w.replicas = replicas;
        w.generation += 1;
        scalePods(s, w);
      }
      return Promise.resolve();
    },

    deleteDeployment(namespace, name) {
      s.stats.requests++;
      const w = deploymentOf(s, namespace, name);
      if (w === undefined) return Promise.resolve('absent');
      if ((s.faults.finalizers ?? []).some((f) => targetMatches(f, w.ref, namespace)))
        return Promise.resolve('deleted');
      for (const t of w.timers) t.cancel();
      for (const p of s.podsOf(w)) {
        s.removePod(p);
        s.emit('pods', { type: 'delete', object: s.podView(p) });
      }
      s.removeWorkload(w);
      rolloutDone(s, w);
      s.emit('workloads', { type: 'delete', object: s.workloadView(w) });
      return Promise.resolve('deleted');
    },

    readGateway: () => Promise.resolve(undefined),
    setGatewayRevision: (namespace, name) =>
      Promise.reject(new Error(`the simulated cluster has no Gateway ${namespace}/${name}`)),
  };
}
