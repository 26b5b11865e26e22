/** One write of a group, waiting for its turn. */
interface Waiting {
  readonly urgent: boolean;
  readonly start: () => void;
}

/** What runs and waits for one group. */
interface Lane {
  running: boolean;
  readonly waiting: Waiting[];
  /** resolves when the lane is empty */
  idle?: { readonly promise: Promise<void>; readonly resolve: () => void };
}

/**
 * Runs the writes of each group one at a time, in order, except that an urgent write (a halt) goes before the
 * routine writes still waiting (host reports, registrations, ticks), after the urgent ones already waiting.
 * A halt queued behind a busy group's report flushes waited for each of them, a store write and a progress publish
 * apiece: 250 ms under load in the halt benchmark, the largest part of that trial's delivery (issue 16). Reordering
 * is safe: every write reads the group afresh at its turn, and commands never wait here together (the bus hands a
 * group's commands over one at a time, each awaited).
 */
export class GroupLanes {
  private readonly lanes = new Map<string, Lane>();

  run<T>(group: string, write: () => Promise<T>, urgent = false): Promise<T> {
    let lane = this.lanes.get(group);
    if (lane === undefined) this.lanes.set(group, (lane = { running: false, waiting: [] }));
    const current = lane;
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        current.running = true;
        write()
          .then(resolve, reject)
          .finally(() => {
            current.running = false;
            this.next(group, current);
          });
      };
      const at = urgent ? current.waiting.findIndex((w) => !w.urgent) : -1;
      if (at < 0) current.waiting.push({ urgent, start });
      else current.waiting.splice(at, 0, { urgent, start });
      if (!current.running) this.next(group, current);
    });
  }

  /** Resolves when every write under way or waiting has finished. */
  async settle(): Promise<void> {
    await Promise.all([...this.lanes.values()].map((lane) => this.idleOf(lane)));
  }

  private next(group: string, lane: Lane): void {
    const w = lane.waiting.shift();
    if (w !== undefined) return w.start();
    this.lanes.delete(group);
    lane.idle?.resolve();
  }

  private idleOf(lane: Lane): Promise<void> {
    if (!lane.running && lane.waiting.length === 0) return Promise.resolve();
    if (lane.idle === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      lane.idle = { promise, resolve };
    }
    return lane.idle.promise;
  }
}
