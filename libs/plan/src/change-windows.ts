import type { AllowWindow, Blackout, WeekDay, Windows } from '@meshwave/contracts';
import { WeekDays } from '@meshwave/contracts';

const MINUTE = 60_000;
const DAY = 86_400_000;

interface LocalTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly weekday: number;
  /** minutes since local midnight */
  readonly minutes: number;
}

interface CompiledWindow {
  readonly days: ReadonlySet<number>;
  readonly from: number;
  readonly to: number;
}

/** Why a start time moved: shown in the plan so operators see where time goes. */
export interface StartDelay {
  readonly until: number;
  readonly reason: string;
}

const parseClock = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};

/**
 * When changes may start: allow windows in a time zone, minus absolute blackouts. Pure: all instants are
 * epoch milliseconds passed in by the caller.
 */
export class ChangeWindows {
  private readonly windows: readonly CompiledWindow[];
  private readonly blackouts: readonly { from: number; to: number; reason: string }[];
  private readonly format: Intl.DateTimeFormat;

  constructor(spec: Windows | undefined) {
    this.windows = (spec?.allow ?? []).map((w: AllowWindow) => ({
      days: new Set((w.days ?? WeekDays).map((d: WeekDay) => WeekDays.indexOf(d))),
      from: parseClock(w.from),
      to: parseClock(w.to),
    }));
    this.blackouts = (spec?.blackouts ?? [])
      .map((b: Blackout) => ({ from: Date.parse(b.from), to: Date.parse(b.to), reason: b.reason ?? 'blackout' }))
      .sort((a, b) => a.from - b.from);
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: spec?.timezone ?? 'UTC',
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
  }

  private local(at: number): LocalTime {
    const parts: Record<string, string> = {};
    for (const p of this.format.formatToParts(at)) parts[p.type] = p.value;
    return {
      year: Number(parts.year),
      month: Number(parts.month),
      day: Number(parts.day),
      weekday: WeekDays.indexOf(parts.weekday as WeekDay),
      minutes: Number(parts.hour) * 60 + Number(parts.minute),
    };
  }

  /** The instant at which the local wall clock shows `minutes` on the local date of `y-m-d`. */
  private instantOf(year: number, month: number, day: number, minutes: number): number {
    const wall = Date.UTC(year, month - 1, day) + minutes * MINUTE;
    // Two passes settle the zone offset, including across a DST change.
    let guess = wall;
    for (let i = 0; i < 2; i++) {
      const l = this.local(guess);
      const shown = Date.UTC(l.year, l.month - 1, l.day) + l.minutes * MINUTE;
      guess += wall - shown;
    }
    return guess;
  }

  private inAllowWindow(at: number): boolean {
    if (this.windows.length === 0) return true;
    const l = this.local(at);
    const yesterday = (l.weekday + 6) % 7;
    return this.windows.some((w) =>
      w.from < w.to
        ? w.days.has(l.weekday) && l.minutes >= w.from && l.minutes < w.to
        : (w.days.has(l.weekday) && l.minutes >= w.from) || (w.days.has(yesterday) && l.minutes < w.to),
    );
  }

  private nextWindowOpening(at: number): number | undefined {
    let best: number | undefined;
    for (let k = 0; k <= 8; k++) {
      const l = this.local(at + k * DAY);
      for (const w of this.windows) {
        if (!w.days.has(l.weekday)) continue;
        const open = this.instantOf(l.year, l.month, l.day, w.from);
        if (open > at && (best === undefined || open < best)) best = open;
      }
      if (best !== undefined) return best;
    }
    return best;
  }

  /**
   * The first instant at or after `at` when a change may start, with the delays that pushed it; undefined
   * when no allow window ever opens (every weekday excluded cannot happen after validation, but blackouts
   * may cover the horizon).
   */
  earliestStart(at: number, horizon: number): { start: number; delays: StartDelay[] } | undefined {
    let t = at;
    const delays: StartDelay[] = [];
    for (let i = 0; i < 1000 && t <= horizon; i++) {
      const blackout = this.blackouts.find((b) => t >= b.from && t < b.to);
      if (blackout) {
        t = blackout.to;
        delays.push({ until: t, reason: `blackout "${blackout.reason}" until ${new Date(t).toISOString()}` });
        continue;
      }
      if (!this.inAllowWindow(t)) {
        const open = this.nextWindowOpening(t);
        if (open === undefined) return undefined;
        t = open;
        delays.push({ until: t, reason: `outside allowed windows until ${new Date(t).toISOString()}` });
        continue;
      }
      return { start: t, delays };
    }
    return undefined;
  }
}
