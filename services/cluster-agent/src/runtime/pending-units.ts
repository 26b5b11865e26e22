/**
 * The units that wait for a maxUnavailable slot, in the planner's order (their place among the assigned units),
 * so that a freed slot wakes the first of them without walking the units before it: a cluster's 2,000 units
 * walked once per freed slot made a wave quadratic (issue 15). A min-heap of places; a unit is taken out when it
 * is woken and put back when its reconcile finds it still pending, so an entry that stopped pending meanwhile
 * is dropped the one time it surfaces (each entry costs one push and one pop: O(log n) per freed slot).
 */
export class PendingUnits {
  private places = new Map<string, number>();
  private keys: string[] = [];
  private heap: number[] = [];
  private readonly queued = new Set<number>();
  /** heap entries looked at while waking units, so a test can count the work per freed slot */
  readonly stats = { visited: 0 };

  /** The units' order changed (a new ledger): every place is new, the waiting units are queued again. */
  reorder(keysInOrder: Iterable<string>, pending: (key: string) => boolean): void {
    this.keys = [...keysInOrder];
    this.places = new Map(this.keys.map((k, i) => [k, i]));
    this.heap = [];
    this.queued.clear();
    // places in increasing order form a heap already
    for (let i = 0; i < this.keys.length; i++) if (pending(this.keys[i]!)) this.push(i);
  }

  /** The unit waits for a slot (again): queued at its place unless it is queued already. */
  add(key: string): void {
    const place = this.places.get(key);
    if (place !== undefined && !this.queued.has(place)) this.push(place);
  }

  /** Takes up to `room` units that still wait, first in order; entries that stopped waiting are dropped. */
  take(room: number, pending: (key: string) => boolean): string[] {
    const taken: string[] = [];
    while (taken.length < room && this.heap.length > 0) {
      const place = this.pop();
      this.stats.visited++;
      const key = this.keys[place]!;
      if (pending(key)) taken.push(key);
    }
    return taken;
  }

  private push(place: number): void {
    this.queued.add(place);
    const h = this.heap;
    h.push(place);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]! <= place) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = place;
  }

  private pop(): number {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    this.queued.delete(top);
    if (h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const child = l + 1 < h.length && h[l + 1]! < h[l]! ? l + 1 : l;
      if (h[child]! >= last) break;
      h[i] = h[child]!;
      i = child;
    }
    h[i] = last;
    return top;
  }
}
