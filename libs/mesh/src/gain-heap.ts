/**
 * An addressable max-heap of vertices keyed by move gain. Edge weights are traffic rates (not integers), so the
 * classic FM bucket array does not apply; a binary heap with a position index gives the same O(log n) updates.
 * Order among equal gains depends only on the sequence of operations, so refinement stays deterministic.
 */
export class GainHeap {
  private readonly heap: Int32Array;
  private readonly pos: Int32Array;
  private readonly key: Float64Array;
  private size = 0;

  constructor(capacity: number) {
    this.heap = new Int32Array(capacity);
    this.pos = new Int32Array(capacity).fill(-1);
    this.key = new Float64Array(capacity);
  }

  get length(): number {
    return this.size;
  }

  has(v: number): boolean {
    return this.pos[v]! >= 0;
  }

  topVertex(): number {
    return this.size > 0 ? this.heap[0]! : -1;
  }

  topGain(): number {
    return this.size > 0 ? this.key[this.heap[0]!]! : -Infinity;
  }

  insert(v: number, gain: number): void {
    this.key[v] = gain;
    const i = this.size++;
    this.heap[i] = v;
    this.pos[v] = i;
    this.up(i);
  }

  update(v: number, gain: number): void {
    const i = this.pos[v]!;
    const old = this.key[v]!;
    this.key[v] = gain;
    if (gain > old) this.up(i);
    else this.down(i);
  }

  remove(v: number): void {
    const i = this.pos[v]!;
    if (i < 0) return;
    this.pos[v] = -1;
    const last = this.heap[--this.size]!;
    if (i === this.size) return;
    this.heap[i] = last;
    this.pos[last] = i;
    this.up(i);
    this.down(this.pos[last]!);
  }

  pop(): number {
    const v = this.heap[0]!;
    this.remove(v);
    return v;
  }

  clear(): void {
    for (let i = 0; i < this.size; i++) this.pos[this.heap[i]!] = -1;
    this.size = 0;
  }

  private up(i: number): void {
    const { heap, pos, key } = this;
    const v = heap[i]!;
    const k = key[v]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pv = heap[parent]!;
      if (key[pv]! >= k) break;
      heap[i] = pv;
      pos[pv] = i;
      i = parent;
    }
    heap[i] = v;
    pos[v] = i;
  }

  private down(i: number): void {
    const { heap, pos, key } = this;
    const n = this.size;
    const v = heap[i]!;
    const k = key[v]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && key[heap[child + 1]!]! > key[heap[child]!]!) child++;
      const cv = heap[child]!;
      if (key[cv]! <= k) break;
      heap[i] = cv;
      pos[cv] = i;
      i = child;
    }
    heap[i] = v;
    pos[v] = i;
  }
}
