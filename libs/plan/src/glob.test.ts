import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileGlob, compileGlobs } from './glob.js';

/** Reference semantics by dynamic programming: can glob[i..] match name[j..]? */
function referenceMatch(glob: string, name: string): boolean {
  const memo = new Map<number, boolean>();
  const at = (i: number, j: number): boolean => {
    const key = i * (name.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === glob.length) result = j === name.length;
    else if (glob[i] === '*') result = at(i + 1, j) || (j < name.length && at(i, j + 1));
    else result = j < name.length && (glob[i] === '?' || glob[i] === name[j]) && at(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return at(0, 0);
}

// A small alphabet makes matches, near-matches and repeated prefixes likely.
const nameChar = fc.constantFrom('a', 'b', '-', '.');
const globChar = fc.constantFrom('a', 'b', '-', '.', '*', '?');
const name = fc.array(nameChar, { maxLength: 12 }).map((cs) => cs.join(''));
const glob = fc.array(globChar, { maxLength: 10 }).map((cs) => cs.join(''));

describe('compileGlob', () => {
  it('agrees with the reference matcher on every glob and name', () => {
    fc.assert(
      fc.property(glob, name, (g, n) => {
        expect(compileGlob(g)(n)).toBe(referenceMatch(g, n));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with the reference on names built to match (each star replaced by some text)', () => {
    fc.assert(
      fc.property(glob, fc.array(name, { minLength: 10, maxLength: 10 }), (g, fills) => {
        let i = 0;
        const n = g.replace(/[*?]/g, (c) => (c === '*' ? fills[i++ % fills.length]! : 'a'));
        expect(compileGlob(g)(n)).toBe(true);
        expect(referenceMatch(g, n)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('treats regular-expression characters literally', () => {
    expect(compileGlob('prod.(eu)+*')('prod.(eu)+west')).toBe(true);
    expect(compileGlob('prod.(eu)+*')('prodx(eu)west')).toBe(false);
    expect(compileGlob('a[b]c?')('a[b]cd')).toBe(true);
  });

  it('answers for 30 stars against a long name that almost matches (a backtracking regex never returns)', () => {
    const g = `${'a*'.repeat(30)}b`;
    expect(compileGlob(g)('a'.repeat(250))).toBe(false);
    expect(compileGlob(g)(`${'a'.repeat(249)}b`)).toBe(true);
    expect(compileGlobs([g, '*-*-*-*-*-*-*-*-*-*-*-*-*-*-*-x'])('-'.repeat(253))).toBe(false);
  });
});
