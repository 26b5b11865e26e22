import type { CommandIo } from '../io.js';

/** What a part of a line says; a colour is only ever a second hint, the words say it too. */
export const Tone = { Good: 'good', Bad: 'bad', Warn: 'warn', Dim: 'dim' } as const;
export type Tone = (typeof Tone)[keyof typeof Tone];

const SGR: Readonly<Record<Tone, string>> = { good: '32', bad: '31', warn: '33', dim: '2' };

/** Colours text by its tone, or leaves it as it is. */
export type Paint = (text: string, tone: Tone) => string;

export const noPaint: Paint = (text) => text;
const ansiPaint: Paint = (text, tone) => (text === '' ? '' : `\u001b[${SGR[tone]}m${text}\u001b[0m`);

/**
 * Colour only on a terminal, and never when `NO_COLOR` is set to anything but the empty string (no-color.org).
 */
export function paintFor(io: Pick<CommandIo, 'env'>, onTerminal: boolean): Paint {
  const noColor = io.env.NO_COLOR;
  return onTerminal && (noColor === undefined || noColor === '') ? ansiPaint : noPaint;
}

/** The tone of a rollout or wave phase. */
export function toneOfPhase(phase: string): Tone | undefined {
  if (/^(Completed|converged|done)$/i.test(phase)) return Tone.Good;
  if (/Failed|RolledBack|RollingBack|Halted|Aborted|rolled-back|failed/i.test(phase)) return Tone.Bad;
  if (/Paused|approval/i.test(phase)) return Tone.Warn;
  return undefined;
}
