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
      `\rbanner${ESC}K\n${ESC}J`,
      `\r${ESC}1Abanner${ESC}K\none${ESC}K\ntwo${ESC}K\n${ESC}J`,
      `\r${ESC}3Abanner${ESC}K\none${ESC}K\nthree${ESC}K\n${ESC}J`,
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
    expect(writes.slice(1)).toEqual([`\r${ESC}2Aapproved${ESC}K\n${ESC}J`, `\rone${ESC}K\ntwo${ESC}K\n${ESC}J`]);
  });

  it('keeps the region inside the window: lines cut to its width, the frame to its height with the header kept', () => {
    const { view, writes } = newView({ columns: 10, rows: 4 });
    view.setHeader(['http://127.0.0.1:8080/#token=x']);
    view.update(frame(['a', '1'], ['b', '2'], ['c', '3'], ['d', '4']));
    const drawn = writes.at(-1)!.split('\n');
    expect(drawn).toEqual([`\r${ESC}1Ahttp://12…${ESC}K`, `1${ESC}K`, `… 3 more …${ESC}K`, `${ESC}J`]);
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
