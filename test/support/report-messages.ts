import type { IncomingMessage } from '@meshwave/bus';
import {
  MessageType,
  unitKey,
  type HealthDelta,
  type HealthReport,
  type UnitProgress,
  type UnitProgressDelta,
  type VmProgress,
  type VmProgressDelta,
} from '@meshwave/contracts';

// Agents send progress and health whole or as deltas (ADR 0048): what tests read of them, either way.

type Message = Pick<IncomingMessage, 'type' | 'data'>;

export const isProgress = (m: Message): boolean =>
  m.type === MessageType.UnitProgress || m.type === MessageType.UnitProgressDelta;

export const isHealth = (m: Message): boolean => m.type === MessageType.Health || m.type === MessageType.HealthDelta;

/** the units a progress message speaks of: a whole report's all, a delta's changed ones */
export function progressUnits(m: Message): UnitProgress['units'] {
  if (m.type === MessageType.UnitProgress) return (m.data as UnitProgress).units;
  if (m.type === MessageType.UnitProgressDelta) return (m.data as UnitProgressDelta).upserted;
  return [];
}

/** a health message as a report of the units it speaks of (a delta's changed ones); its condition is whole */
export function healthOf(m: Message): HealthReport | undefined {
  if (m.type === MessageType.Health) return m.data as HealthReport;
  if (m.type !== MessageType.HealthDelta) return undefined;
  const { upserted, removed: _removed, base: _base, ...rest } = m.data as HealthDelta;
  return { ...rest, units: upserted };
}

/** entries by key after a delta: `removed` taken out, `upserted` put in */
function merged<E>(
  held: readonly E[],
  upserted: readonly E[],
  removed: readonly string[],
  keyOf: (e: E) => string,
): E[] {
  const byKey = new Map(held.map((e) => [keyOf(e), e]));
  for (const key of removed) byKey.delete(key);
  for (const e of upserted) byKey.set(keyOf(e), e);
  return [...byKey.values()];
}

/** the last rollout's progress as the planner holds it: its last whole report with the deltas after it applied */
export function heldProgress(messages: readonly Message[]): UnitProgress | undefined {
  const held = new Map<string, UnitProgress>();
  let last: string | undefined;
  for (const m of messages) {
    if (m.type === MessageType.UnitProgress) {
      const p = m.data as UnitProgress;
      held.set(p.rolloutId, p);
      last = p.rolloutId;
    } else if (m.type === MessageType.UnitProgressDelta) {
      const { upserted, removed, base: _base, ...rest } = m.data as UnitProgressDelta;
      const units = merged(held.get(rest.rolloutId)?.units ?? [], upserted, removed.map(unitKey), unitKey);
      held.set(rest.rolloutId, { ...rest, units });
      last = rest.rolloutId;
    }
  }
  return last === undefined ? undefined : held.get(last);
}

/** each VM progress message as the planner holds the group after it (whole, or the deltas so far applied) */
export function heldVmProgress(messages: readonly Message[]): VmProgress[] {
  const held = new Map<string, VmProgress>();
  const out: VmProgress[] = [];
  for (const m of messages) {
    let now: VmProgress | undefined;
    if (m.type === MessageType.VmProgress) now = m.data as VmProgress;
    else if (m.type === MessageType.VmProgressDelta) {
      const { upserted, removed, base: _base, ...rest } = m.data as VmProgressDelta;
      now = { ...rest, hosts: merged(held.get(rest.group)?.hosts ?? [], upserted, removed, (h) => h.name) };
    }
    if (now === undefined) continue;
    held.set(now.group, now);
    out.push(now);
  }
  return out;
}
