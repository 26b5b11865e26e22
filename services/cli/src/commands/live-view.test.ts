import { describe, expect, it } from 'vitest';
import { clipLine, LiveView, visibleLength, type LiveLine } from './live-view.js';
import { paintFor, Tone } from './terminal-color.js';

const ESC = '\u001b[';

function newView(terminal?: { columns: number; rows: number }): { view: LiveView; writes: string[] } {
  const writes: string[] = [];
  return { view: new LiveView((t) => writes.push(t), terminal), writes };
}

const frame = (...lines: [string, string, string?][]): LiveLine[] =>
  lines.map(([key, text, change]) => ({ key, text, ...(change === undefined ? {} : { change }) }));

describe('LiveView off a terminal (a pipe, a file, --no-tty)', () => {
  it('prints the header once, then only the lines whose change differs, never an escape sequence', () => {
    const { view, writes } = newView();
    view.setHeader(['banner with http://x/#token=t']);
    view.update(frame(['rollout', 'phase Running', 'Running'], ['wave:0', 'wave 0  3%', '0'], ['t:1', 'a → b']));
    view.update(frame(['rollout', 'phase Running', 'Running'], ['wave:0', 'wave 0  7%', '0'], ['t:1', 'a → b']));
    view.update(
      frame(['rollout', 'phase Running', 'Running'], ['wave:0', 'wave 0 12%', '1'], ['t:1', 'a → b'], ['t:2', 'b → c']),
    );
    view.note('operator approved');
    expect(writes.join('')).toBe(
      [
        'banner with http://x/#token=t',
        'phase Running',
        'wave 0  3%',
        'a → b',
        'wave 0 12%',
        'b → c',
        'operator approved',
        '',
      ].join('\n'),
    );
    expect(writes.join('')).not.toContain(ESC);
  });

  it('prints nothing when nothing changed', () => {
    const { view, writes } = newView();
    view.update(frame(['a', 'x']));
    view.update(frame(['a', 'x']));
    expect(writes).toEqual(['x\n']);
  });
});

describe('LiveView on a terminal', () => {
  it('redraws the header and the frame in place: up over what it drew, each line cleared, the rest erased', () => {
    const { view, writes } = newView({ columns: 80, rows: 24 });
    view.setHeader(['banner']);
    view.update(frame(['a', 'one'], ['b', 'two']));
    view.update(frame(['a', 'one'], ['b', 'three']));
    expect(writes).toEqual([
      `\rbanner${ESC}K${ESC}J\n`,
      `\r${ESC}1Abanner${ESC}K\none${ESC}K\ntwo${ESC}K${ESC}J\n`,
      `\r${ESC}3Abanner${ESC}K\none${ESC}K\nthree${ESC}K${ESC}J\n`,
    ]);
  });

  it('does not redraw an unchanged frame', () => {
    const { view, writes } = newView({ columns: 80, rows: 24 });
    view.update(frame(['a', 'one']));
    view.update(frame(['a', 'one']));
    expect(writes).toHaveLength(1);
  });

  it('writes a note above the region, which stays, and redraws the region under it', () => {
    const { view, writes } = newView({ columns: 80, rows: 24 });
    view.update(frame(['a', 'one'], ['b', 'two']));
    view.note('approved');
    expect(writes.slice(1)).toEqual([`\r${ESC}2A${ESC}Japproved\n`, `\rone${ESC}K\ntwo${ESC}K${ESC}J\n`]);
  });

  it('keeps the region inside the window: lines cut to its width, the frame to its height with the header kept', () => {
    const { view, writes } = newView({ columns: 10, rows: 4 });
    view.setHeader(['http://127.0.0.1:8080/#token=x']);
    view.update(frame(['a', '1'], ['b', '2'], ['c', '3'], ['d', '4']));
    const drawn = writes.at(-1)!.split('\n');
    expect(drawn).toEqual([`\r${ESC}1Ahttp://12…${ESC}K`, `1${ESC}K`, `… 3 more …${ESC}K${ESC}J`, '']);
  });
});

/** A terminal as far as the view drives it: text, \r, \n (scrolling at the bottom), cursor up, erase line / below. */
function newScreen(rows: number): { write: (text: string) => void; lines: () => string[] } {
  const scrollback: string[] = [];
  let screen: string[] = [''];
  let row = 0;
  let col = 0;
  const put = (ch: string): void => {
    const line = screen[row] ?? '';
    screen[row] = line.slice(0, col).padEnd(col) + ch + line.slice(col + 1);
    col++;
  };
  const write = (text: string): void => {
    // eslint-disable-next-line no-control-regex -- the sequences the view writes
    for (const [, csi, n, op, ch] of text.matchAll(/(\u001b\[(\d*)([AKJ]))|([\s\S])/g)) {
      if (csi !== undefined && op === 'A') row = Math.max(0, row - Number(n || 1));
      else if (csi !== undefined && op === 'K') screen[row] = (screen[row] ?? '').slice(0, col);
      else if (csi !== undefined && op === 'J') screen = [...screen.slice(0, row), (screen[row] ?? '').slice(0, col)];
      else if (ch === '\r') col = 0;
      else if (ch === '\n') {
        row++;
        col = 0;
        if (row >= rows) {
          scrollback.push(screen.shift()!);
          row = rows - 1;
        }
        screen[row] ??= '';
      } else if (ch !== undefined) put(ch);
    }
  };
  return { write, lines: () => [...scrollback, ...screen].filter((l, i, all) => i < all.length - 1 || l !== '') };
}

describe('LiveView driving a terminal', () => {
  it('keeps the banner and the frame in one place however often it redraws; notes pile up above, no blank line', () => {
    const screen = newScreen(12);
    // as the view is used: through `CommandIo.stdout`, which ends what it writes with a newline
    const stdout = (text: string): void => screen.write(text.endsWith('\n') ? text : `${text}\n`);
    const view = new LiveView(stdout, { columns: 40, rows: 12 });
    view.setHeader(['banner http://x/#token=t']);
    for (let i = 0; i <= 100; i++) {
      view.update(frame(['phase', `phase Running ${i}%`], ['wave', `wave 0 ${'#'.repeat(i % 5)}`]));
      if (i % 40 === 0) view.note(`note ${i}`);
    }
    expect(screen.lines()).toEqual([
      'note 0',
      'note 40',
      'note 80',
      'banner http://x/#token=t',
      'phase Running 100%',
      'wave 0 ',
    ]);
  });
});

describe('colour', () => {
  it('paints on a terminal unless NO_COLOR is set, and never off a terminal', () => {
    expect(paintFor({ env: {} }, true)('x', Tone.Bad)).toBe(`${ESC}31mx${ESC}0m`);
    expect(paintFor({ env: { NO_COLOR: '1' } }, true)('x', Tone.Bad)).toBe('x');
    expect(paintFor({ env: { NO_COLOR: '' } }, true)('x', Tone.Bad)).toBe(`${ESC}31mx${ESC}0m`);
    expect(paintFor({ env: {} }, false)('x', Tone.Bad)).toBe('x');
  });

  it('cuts a coloured line by what shows, and resets the colour it cut', () => {
    const line = `ab${ESC}32mcdef${ESC}0mgh`;
    expect(visibleLength(line)).toBe(8);
    expect(clipLine(line, 8)).toBe(line);
    expect(clipLine(line, 5)).toBe(`ab${ESC}32mcd…${ESC}0m`);
  });
});
