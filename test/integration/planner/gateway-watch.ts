// An independent watch of a Gateway API gateway on the apiserver (ADR 0056, 0058): the labels and pin annotations
// its Gateway held, and when a pod of it was first injected with the rollout's `to`.
import * as k8s from '@kubernetes/client-node';
import { PINNED_TAG_ANNOTATION } from '@meshwave/contracts';
import { injectedRevisionOf } from '@meshwave/istio';
import { gatewayApiSelector } from '../cluster-agent/gateway-fixtures.js';

/**
 * Every `istio.io/rev` the Gateway held, in order, each pin annotation it held (`meshwave.io/pinned-tag`, '' for
 * none), and when (this process's clock) a pod of it first ran `to`.
 */
export class GatewayWatch {
  readonly labels: string[] = [];
  readonly pinnedTags: string[] = [];
  firstPodOnNewAt: number | undefined;
  private readonly aborts: (() => void)[] = [];

  constructor(
    private readonly kubeconfig: string,
    /** the rollout's `to` */
    private readonly to: string,
  ) {}

  async start(ns: string, gateway: string): Promise<void> {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(this.kubeconfig);
    const watch = new k8s.Watch(kc);
    const g = await watch.watch(
      `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/gateways`,
      { fieldSelector: `metadata.name=${gateway}` },
      (_type: string, o: { metadata?: k8s.V1ObjectMeta }) => {
        const label = o.metadata?.labels?.['istio.io/rev'] ?? '';
        if (this.labels.at(-1) !== label) this.labels.push(label);
        const pinned = o.metadata?.annotations?.[PINNED_TAG_ANNOTATION] ?? '';
        if (this.pinnedTags.at(-1) !== pinned) this.pinnedTags.push(pinned);
      },
      () => undefined,
    );
    const p = await watch.watch(
      `/api/v1/namespaces/${ns}/pods`,
      { labelSelector: gatewayApiSelector(gateway) },
      (_type: string, pod: k8s.V1Pod) => {
        if (injectedRevisionOf(pod.metadata?.annotations) === this.to) this.firstPodOnNewAt ??= Date.now();
      },
      () => undefined,
    );
    this.aborts.push(
      () => g.abort(),
      () => p.abort(),
    );
  }

  close(): void {
    for (const a of this.aborts) a();
  }
}
