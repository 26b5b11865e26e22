import type { IncomingMessage } from '@meshwave/bus';
import {
  MessageType,
  unitKey,
  type HealthDelta,
  type HealthReport,
  type UnitProgress,
  type UnitProgressDelta,
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
      const units = new Map((held.get(rest.rolloutId)?.units ?? []).map((u) => [unitKey(u), u]));
      for (const r of removed) units.delete(unitKey(r));
      for (const u of upserted) units.set(unitKey(u), u);
      held.set(rest.rolloutId, { ...rest, units: [...units.values()] });
      last = rest.rolloutId;
    }
  }
  return last === undefined ? undefined : held.get(last);
}
