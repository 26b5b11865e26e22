import type { Terminal } from '../io.js';

/**
 * One line of a live view. `key` names what the line is about (a wave, a cluster, a transition); `change` is
 * what must differ for the line to be worth printing again in a log (by default its text): a progress bar
 * says its state and a 10% step there, not every unit that converged.
 */
export interface LiveLine {
  readonly key: string;
  readonly text: string;
  readonly change?: string;
}

const ESC = '\u001b[';
// eslint-disable-next-line no-control-regex -- ANSI sequences are what this strips
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;
// eslint-disable-next-line no-control-regex -- the same, matched where a line is cut
const ANSI_AT = /\u001b\[[0-9;?]*[A-Za-z]/y;

/** The width a line takes on screen: its characters without colour sequences. */
export const visibleLength = (text: string): number => [...text.replace(ANSI, '')].length;

/** Cuts a line to `width` visible characters, keeping its colour sequences (and resetting them when cut). */
export function clipLine(text: string, width: number): string {
  if (visibleLength(text) <= width) return text;
  let out = '';
  let shown = 0;
  for (let i = 0; i < text.length && shown < width - 1;) {
    ANSI_AT.lastIndex = i;
    const m = ANSI_AT.exec(text);
    if (m) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    out += ch;
    i += ch.length;
    shown++;
  }
  return `${out}…${text.includes(ESC) ? `${ESC}0m` : ''}`;
}

/**
 * A view that follows something as it changes (`status --watch`, the demo). On a terminal it redraws one region
 * in place — a header that stays on screen (the demo's URL and token) above the frame, clipped to the window —
 * so the screen never scrolls; notes (what the operator did) are written above that region and stay. Anywhere
 * else (a pipe, a file, CI, `--no-tty`) it appends plain lines: the header once, then only the lines whose
 * `change` differs from what was last printed under their key.
 */
export class LiveView {
  private header: readonly string[] = [];
  private lines: readonly LiveLine[] = [];
  /** lines of the redrawn region now on screen (terminal only) */
  private onScreen = 0;
  private drawn = '';
  private readonly printed = new Map<string, string>();

  constructor(
    private readonly write: (text: string) => void,
    private readonly terminal: Terminal | undefined,
  ) {}

  /** Lines kept on top of every redraw; off a terminal they are printed once, now. */
  setHeader(lines: readonly string[]): void {
    this.header = lines;
    if (this.terminal) this.redraw();
    else if (lines.length > 0) this.write(`${lines.join('\n')}\n`);
  }

  /** A line that stays in the scrollback, above the live region. */
  note(text: string): void {
    if (!this.terminal) {
      this.write(`${text}\n`);
      return;
    }
    // the region goes, the note takes its place and stays: never cut (it may wrap, it is not redrawn)
    this.write(`${this.moveToTop()}${ESC}J${text}\n`);
    this.onScreen = 0;
    this.drawn = '';
    this.redraw();
  }

  /** The view as it is now: redrawn when it differs on a terminal, else the lines that changed. */
  update(lines: readonly LiveLine[]): void {
    this.lines = lines;
    if (this.terminal) {
      this.redraw();
      return;
    }
    const changed = lines.filter((l) => this.printed.get(l.key) !== (l.change ?? l.text));
    for (const l of changed) this.printed.set(l.key, l.change ?? l.text);
    if (changed.length > 0) this.write(`${changed.map((l) => l.text).join('\n')}\n`);
  }

  private moveToTop(): string {
    return this.onScreen > 0 ? `\r${ESC}${this.onScreen}A` : '\r';
  }

  private redraw(): void {
    const terminal = this.terminal!;
    // One row is left free: a region as tall as the window would scroll it by one on its last newline.
    const room = Math.max(1, terminal.rows - 1);
    let rows = [...this.header, ...this.lines.map((l) => l.text)];
    if (rows.length > room) {
      const cut = rows.length - room + 1;
      rows = [...rows.slice(0, room - 1), `… ${cut} more lines (make the window taller)`];
    }
    const frame = rows.map((r) => `${clipLine(r, terminal.columns)}${ESC}K`).join('\n');
    if (frame === this.drawn) return;
    // every write ends with its newline: the cursor rests on the line under the region, where the next redraw
    // counts from (and what writes only whole lines, such as `io.stdout`, adds nothing)
    this.write(`${this.moveToTop()}${frame}${ESC}J\n`);
    this.onScreen = rows.length;
    this.drawn = frame;
  }
}
