/**
 * A seeded pseudo-random generator (sfc32): the partitioner must give the same meshes for the same seed, so it
 * never touches Math.random().
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed | 0;
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** an integer in [0, n) */
  nextInt(n: number): number {
    return this.nextUint32() % n;
  }

  /** a random permutation of 0..n-1 */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    this.shuffle(p);
    return p;
  }

  shuffle(p: Int32Array): void {
    for (let i = p.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
  }

  /** a new generator derived from this one, so sub-steps do not shift each other's streams */
  fork(): SeededRandom {
    return new SeededRandom(this.nextUint32());
  }
}
