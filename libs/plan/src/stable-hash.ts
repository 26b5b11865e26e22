/**
 * Stable 32-bit hash (FNV-1a over UTF-16 code units, then a murmur3 finaliser for avalanche). The salt is
 * hashed once into a seed, so ranking a unit costs one pass over its key. It never changes between
 * releases: the same salt must pick the same canaries next quarter.
 */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnv(state: number, text: string): number {
  let h = state;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h;
}

function finalise(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The hash state after `salt` and a separator; pass it to `hashWithSeed`. */
export function saltSeed(salt: string): number {
  return fnv(fnv(FNV_OFFSET, salt), '\u0000');
}

export function hashWithSeed(seed: number, key: string): number {
  return finalise(fnv(seed, key));
}

/** `stableHash(salt, key)`: the rank of a unit for a salt; lower ranks are picked first. */
export function stableHash(salt: string, key: string): number {
  return hashWithSeed(saltSeed(salt), key);
}

const SEPARATOR = '/'.charCodeAt(0);

/** `hashWithSeed(seed, parts.join('/'))` without building the joined string. */
export function hashParts(seed: number, ...parts: readonly string[]): number {
  let h = seed;
  for (let p = 0; p < parts.length; p++) {
    if (p > 0) {
      h ^= SEPARATOR;
      h = Math.imul(h, FNV_PRIME);
    }
    h = fnv(h, parts[p]!);
  }
  return finalise(h);
}
