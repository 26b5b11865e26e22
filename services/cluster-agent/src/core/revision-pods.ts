import {
  MAX_REPORTED_REVISIONS,
  MAX_REVISION_USERS,
  RevisionName,
  RevisionUserKind,
  type InventoryReport,
  type RevisionPods,
  type RevisionUser,
} from '@meshwave/contracts';
import { IstioLabel, PROXY_CONTAINER, injectedRevisionOf } from '@meshwave/istio';
import type { CronJobs, PodView } from '../ports/kubernetes-port.js';

/** Pod labels Istio's gateways carry (`istio=ingressgateway`, a Gateway API gateway's name). */
const GATEWAY_LABELS = ['istio', 'gateway.networking.k8s.io/gateway-name'] as const;

/**
 * The revision a pod's proxy belongs to: the injector's record (`sidecar.istio.io/status`), or for a gateway
 * (a proxy deployed, not injected) its `istio.io/rev` label; null for a pod without a proxy.
 */
export function proxyRevisionOf(pod: PodView): string | null {
  const injected = injectedRevisionOf(pod.annotations);
  if (injected !== null) return injected;
  const hasProxy = pod.containers.some((c) => c.name === PROXY_CONTAINER);
  return hasProxy ? (pod.labels[IstioLabel.Revision] ?? null) : null;
}

/**
 * What runs the pod, named as an operator knows it: a ReplicaSet's Deployment (its name less the pod-template
 * hash), a Job's CronJob (from `cronJobOwners`), a gateway by its label, a bare pod by its own name.
 */
export function revisionUserOf(pod: PodView, cronJobOwners: ReadonlyMap<string, string>): Omit<RevisionUser, 'pods'> {
  const gateway = GATEWAY_LABELS.map((l) => pod.labels[l]).find((v) => v !== undefined);
  const base = { namespace: pod.namespace };
  if (pod.owner === undefined) return { ...base, kind: RevisionUserKind.Pod, name: pod.name };
  const { kind, name } = pod.owner;
  const hash = pod.labels['pod-template-hash'];
  const deployment = kind === 'ReplicaSet' && hash !== undefined && name.endsWith(`-${hash}`);
  const owner = deployment ? name.slice(0, -hash.length - 1) : name;
  if (gateway !== undefined) return { ...base, kind: RevisionUserKind.Gateway, name: owner };
  if (deployment) return { ...base, kind: RevisionUserKind.Deployment, name: owner };
  if (kind === 'Job') {
    const cronJob = cronJobOwners.get(`${pod.namespace}/${name}`);
    return cronJob !== undefined
      ? { ...base, kind: RevisionUserKind.CronJob, name: cronJob }
      : { ...base, kind: RevisionUserKind.Job, name };
  }
  if (kind === 'StatefulSet' || kind === 'DaemonSet') return { ...base, kind, name };
  return { ...base, kind: RevisionUserKind.Other, name: `${kind}/${name}` };
}

/**
 * The live pods with a proxy per revision, in every namespace, with what runs them (at most MAX_REVISION_USERS
 * named per revision, the rest counted): what still keeps each revision's control plane in use.
 */
export function revisionPodsOf(pods: Iterable<PodView>, cronJobs: CronJobs): RevisionPods[] {
  const index = new RevisionPodsIndex();
  for (const pod of pods) index.upsert(pod);
  return index.read(cronJobs);
}

/** revision names already checked against the contract: a cluster has a handful, and every pod event names one */
const checkedNames = new Map<string, boolean>();
const MAX_CHECKED_NAMES = 256;

/** whether the contract takes `revision` as a revision's name (remembered for the names seen, up to a bound) */
export function validRevisionName(revision: string): boolean {
  const known = checkedNames.get(revision);
  if (known !== undefined) return known;
  const valid = RevisionName.safeParse(revision).success;
  if (checkedNames.size >= MAX_CHECKED_NAMES) checkedNames.clear();
  checkedNames.set(revision, valid);
  return valid;
}

/** The revision a pod counts for, or undefined when it does not count (no proxy, finished, on its way out). */
function countedRevisionOf(pod: PodView): string | undefined {
  if (pod.terminating || pod.phase === 'Succeeded' || pod.phase === 'Failed') return undefined;
  const revision = proxyRevisionOf(pod);
  return revision !== null && validRevisionName(revision) ? revision : undefined;
}

/** Pods that `revisionUserOf` names alike: same namespace, owner, template hash and gateway label (or the pod). */
function userGroupOf(pod: PodView): string {
  // joined by a character no Kubernetes name or label value holds; an absent part is a second one
  const part = (v: string | undefined): string => v ?? '\u0001';
  if (pod.owner === undefined) return `${pod.namespace}\u0000${pod.name}`;
  let gateway: string | undefined;
  for (const l of GATEWAY_LABELS) if ((gateway = pod.labels[l]) !== undefined) break;
  return [pod.namespace, pod.owner.kind, pod.owner.name, part(pod.labels['pod-template-hash']), part(gateway)].join(
    '\u0000',
  );
}

const podKeyOf = (pod: { readonly namespace: string; readonly name: string }): string => `${pod.namespace}/${pod.name}`;

/** Pods of one revision that one user runs: one of them stands for all (they name the same user). */
interface PodGroup {
  readonly sample: PodView;
  pods: number;
}

/**
 * `revisionPodsOf`, kept up to date pod by pod: each pod event moves one count, and a read costs the groups of
 * pods (one per ReplicaSet, Job, gateway or bare pod), not the pods. An inventory is read every resync; scanning
 * every pod of the cluster for it was work proportional to the cluster on each one (issue 15). A read is kept
 * until a count moves or the CronJobs differ: the inventory reads it every resync (every 5 s in the embedded
 * fleet), and most pod events (a pod Ready, a restart counted) move none.
 */
export class RevisionPodsIndex {
  /** what reads cost: groups visited (tests check that it follows the groups, not the pods, and what changed) */
  readonly stats = { groupsVisited: 0 };
  private readonly byPod = new Map<string, { readonly revision: string; readonly group: string }>();
  /** revision → user group → pods */
  private readonly groups = new Map<string, Map<string, PodGroup>>();
  /** bumped whenever a count moves: a read of an older one is stale */
  private generation = 0;
  private lastRead:
    { readonly generation: number; readonly cronJobs: string; readonly read: RevisionPods[] } | undefined;

  upsert(pod: PodView): void {
    const revision = countedRevisionOf(pod);
    const key = podKeyOf(pod);
    const was = this.byPod.get(key);
    // the same pod counted for the same revision and user: nothing a read says moves (any pod of a group names it)
    if (revision !== undefined && was?.revision === revision && was.group === userGroupOf(pod)) return;
    if (was !== undefined) this.uncount(key, was);
    if (revision === undefined) return;
    this.generation++;
    const group = userGroupOf(pod);
    let groups = this.groups.get(revision);
    if (groups === undefined) this.groups.set(revision, (groups = new Map()));
    const known = groups.get(group);
    if (known !== undefined) known.pods++;
    else groups.set(group, { sample: pod, pods: 1 });
    this.byPod.set(key, { revision, group });
  }

  delete(pod: { readonly namespace: string; readonly name: string }): void {
    const key = podKeyOf(pod);
    const counted = this.byPod.get(key);
    if (counted !== undefined) this.uncount(key, counted);
  }

  /** the pod of `key` no longer counts where it was counted */
  private uncount(key: string, counted: { readonly revision: string; readonly group: string }): void {
    this.generation++;
    this.byPod.delete(key);
    const groups = this.groups.get(counted.revision);
    const group = groups?.get(counted.group);
    if (groups === undefined || group === undefined) return;
    if (--group.pods > 0) return;
    groups.delete(counted.group);
    if (groups.size === 0) this.groups.delete(counted.revision);
  }

  clear(): void {
    this.generation++;
    this.byPod.clear();
    this.groups.clear();
  }

  /** The pods per revision and what runs them, as `revisionPodsOf` says it; the last read while nothing moved. */
  read(cronJobs: CronJobs): RevisionPods[] {
    const jobs = JSON.stringify([cronJobs.templates, [...cronJobs.ownerOfJob]]);
    const last = this.lastRead;
    if (last !== undefined && last.generation === this.generation && last.cronJobs === jobs) return [...last.read];
    const read = this.readNow(cronJobs);
    this.lastRead = { generation: this.generation, cronJobs: jobs, read };
    return [...read];
  }

  private readNow(cronJobs: CronJobs): RevisionPods[] {
    const byRevision = new Map<string, Map<string, RevisionUser>>();
    const counts = new Map<string, number>();
    const usersOf = (revision: string): Map<string, RevisionUser> => {
      let users = byRevision.get(revision);
      if (!users) byRevision.set(revision, (users = new Map()));
      return users;
    };
    // A CronJob whose template names a revision starts pods of it at its next run, even with none running now.
    for (const c of cronJobs.templates) {
      if (!RevisionName.safeParse(c.revision).success) continue;
      const user = { kind: RevisionUserKind.CronJob, namespace: c.namespace, name: c.name, pods: 0 };
      usersOf(c.revision).set(`${user.kind}/${user.namespace}/${user.name}`, user);
    }
    for (const [revision, groups] of this.groups) {
      const users = usersOf(revision);
      for (const group of groups.values()) {
        this.stats.groupsVisited++;
        counts.set(revision, (counts.get(revision) ?? 0) + group.pods);
        const user = revisionUserOf(group.sample, cronJobs.ownerOfJob);
        const key = `${user.kind}/${user.namespace}/${user.name}`;
        users.set(key, { ...user, pods: (users.get(key)?.pods ?? 0) + group.pods });
      }
    }
    return [...byRevision]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([revision, users]) => {
        const all = [...users.values()].sort(
          (a, b) =>
            a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name),
        );
        return {
          revision,
          pods: counts.get(revision) ?? 0,
          users: all.slice(0, MAX_REVISION_USERS),
          more: Math.max(0, all.length - MAX_REVISION_USERS),
        };
      });
  }
}

/** What the inventory says of the pods per revision: at most MAX_REPORTED_REVISIONS of them, and whether that is all. */
export type RevisionPodsRead = Pick<InventoryReport, 'revisionPods' | 'revisionPodsTruncated'>;

/**
 * The revisions an inventory may list (the schema's bound): beyond it, the ones with the most pods (then by
 * name), marked truncated. Never over the bound: an inventory the schema refuses would stop the agent reporting
 * at all; never silently cut: a revision left out would read as unused.
 */
export function capRevisionPods(all: readonly RevisionPods[]): RevisionPodsRead {
  if (all.length <= MAX_REPORTED_REVISIONS) return { revisionPods: [...all] };
  const kept = new Set(
    [...all].sort((a, b) => b.pods - a.pods || a.revision.localeCompare(b.revision)).slice(0, MAX_REPORTED_REVISIONS),
  );
  return { revisionPods: all.filter((r) => kept.has(r)), revisionPodsTruncated: true };
}
