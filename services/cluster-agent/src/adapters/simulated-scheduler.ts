// The simulated cluster's scheduler (ADR 0057): where a new pod of a cluster with nodes runs. kube-scheduler
// spreads pods over the nodes that take them and never puts a new pod on a cordoned (`unschedulable`) node; the
// simulator spreads them in turn over its schedulable nodes, O(1) per pod (fleets reach 100,000 workloads, so a
// placement never looks at the pods or walks the nodes). A cluster without nodes places nothing: its pods run on no
// node, as before nodes existed in the simulator.

/** Places new pods on the schedulable nodes, in turn. */
export class SimScheduler {
  /** the schedulable nodes, in the order they take pods; a cordon swaps its node out in O(1) */
  private readonly schedulable: string[] = [];
  /** each schedulable node's index in `schedulable` */
  private readonly position = new Map<string, number>();
  private turn = 0;

  /** a node that takes pods now (`schedulable`) or once it is uncordoned */
  addNode(name: string, schedulable: boolean): void {
    this.setSchedulable(name, schedulable);
  }

  /** a node's cordon set or lifted: a cordoned node receives no new pod, the pods on it stay */
  setSchedulable(name: string, schedulable: boolean): void {
    const at = this.position.get(name);
    if (schedulable && at === undefined) {
      this.position.set(name, this.schedulable.length);
      this.schedulable.push(name);
    } else if (!schedulable && at !== undefined) {
      const last = this.schedulable.pop()!;
      this.position.delete(name);
      if (last !== name) {
        this.schedulable[at] = last;
        this.position.set(last, at);
      }
    }
  }

  /** the node a new pod runs on; undefined when no node is schedulable (none exist, or every one is cordoned) */
  place(): string | undefined {
    const n = this.schedulable.length;
    if (n === 0) return undefined;
    this.turn = this.turn % n;
    const node = this.schedulable[this.turn];
    this.turn = (this.turn + 1) % n;
    return node;
  }
}
