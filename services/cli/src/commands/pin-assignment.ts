import { InvalidInputError, parseInventory, parseRolloutSpec } from '@meshwave/contracts';
import { planRollout } from '@meshwave/plan';

/** Revisions to pin: namespaces (namespace granularity) and workloads (`namespace/Kind/name`). */
export interface PinAssignment {
  readonly namespaces: ReadonlyMap<string, string>;
  readonly workloads: ReadonlyMap<string, string>;
  /**
   * Namespaces whose label is handed over to their workloads' templates (ADR 0011), with the revision the
   * templates take over; see `namespaceHandoffs`.
   */
  readonly handoffs?: ReadonlyMap<string, string>;
  /** of those, the namespaces whose every known workload is in the manifests: their Namespace label may go */
  readonly dropNamespaceLabel?: ReadonlySet<string>;
  /** every workload the inventory or planner knows, per namespace (`Kind/name`) */
  readonly known?: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Assignment from a plan: every unit of the waves up to `through` (default all) is pinned to `to`. */
export function assignmentFromPlan(
  plan: {
    readonly to: string;
    readonly granularity: string;
    readonly waves: readonly {
      readonly name: string;
      readonly units: readonly string[];
      readonly workloads: readonly { cluster: string; namespace: string; kind: string; name: string }[];
    }[];
  },
  options: { readonly cluster?: string; readonly through?: string },
): PinAssignment {
  const namespaces = new Map<string, string>();
  const workloads = new Map<string, string>();
  for (const wave of plan.waves) {
    for (const w of wave.workloads) {
      if (options.cluster !== undefined && w.cluster !== options.cluster) continue;
      if (plan.granularity === 'namespace') namespaces.set(w.namespace, plan.to);
      else workloads.set(`${w.namespace}/${w.kind}/${w.name}`, plan.to);
    }
    if (wave.name === options.through) break;
  }
  return { namespaces, workloads };
}

/** The workloads each namespace holds (`Kind/name`), as the inventory knows them, for one cluster or all. */
function knownWorkloads(
  inventory: ReturnType<typeof parseInventory>,
  cluster: string | undefined,
): Map<string, Set<string>> {
  const known = new Map<string, Set<string>>();
  for (const c of inventory.clusters) {
    if (cluster !== undefined && c.name !== cluster) continue;
    for (const w of c.workloads) {
      let set = known.get(w.namespace);
      if (!set) known.set(w.namespace, (set = new Set()));
      set.add(`${w.kind}/${w.name}`);
    }
  }
  return known;
}

/** The assignment the rollout's plan against an inventory reaches by the end of wave `through` (default: all). */
export function inventoryAssignment(
  files: {
    readonly rollout: string;
    readonly specText: string;
    readonly inventory: string;
    readonly inventoryText: string;
  },
  options: { readonly cluster?: string; readonly through?: string; readonly now: Date },
): PinAssignment {
  const spec = parseRolloutSpec(files.specText, files.rollout);
  const inventory = parseInventory(files.inventoryText, files.inventory);
  const plan = planRollout(spec, inventory, { now: options.now });
  if (options.through !== undefined && !plan.waves.some((w) => w.name === options.through))
    throw new InvalidInputError([
      {
        file: files.rollout,
        path: '--through',
        message: `no wave named "${options.through}" (waves: ${plan.waves.map((w) => w.name).join(', ')})`,
      },
    ]);
  return {
    ...assignmentFromPlan(plan, {
      ...(options.cluster !== undefined ? { cluster: options.cluster } : {}),
      ...(options.through !== undefined ? { through: options.through } : {}),
    }),
    known: knownWorkloads(inventory, options.cluster),
  };
}

/** The assignment a running planner holds for one cluster now. */
export async function plannerAssignment(
  doFetch: typeof fetch,
  url: string,
  cluster: string,
  token: string | undefined,
): Promise<PinAssignment> {
  const target = new URL(`v1/clusters/${encodeURIComponent(cluster)}`, url.endsWith('/') ? url : `${url}/`);
  const res = await doFetch(target, {
    headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) throw new InvalidInputError([{ path: '--planner', message: `${target.href} answered ${res.status}` }]);
  const body = (await res.json()) as {
    workloadList?: { namespace: string; kind: string; name: string; revision: string | null }[];
  };
  const workloads = new Map<string, string>();
  const byNs = new Map<string, Set<string | null>>();
  const known = new Map<string, Set<string>>();
  for (const w of body.workloadList ?? []) {
    let set = known.get(w.namespace);
    if (!set) known.set(w.namespace, (set = new Set()));
    set.add(`${w.kind}/${w.name}`);
    if (w.revision !== null) workloads.set(`${w.namespace}/${w.kind}/${w.name}`, w.revision);
    let s = byNs.get(w.namespace);
    if (!s) byNs.set(w.namespace, (s = new Set()));
    s.add(w.revision);
  }
  const namespaces = new Map<string, string>();
  for (const [ns, revs] of byNs) {
    const [only] = [...revs];
    if (revs.size === 1 && only) namespaces.set(ns, only);
  }
  return { namespaces, workloads, known };
}
