// The testbed's scheduler: binds every unbound Pod to the Ready node that
// runs the fewest pods (ties: the lowest node name), which spreads a
// Deployment evenly over the nodes as the default scheduler's spreading does.
import type { ObjectStore } from '../apiserver/store.js';
import type { StoredObject } from '../apiserver/types.js';

export class Scheduler {
  private unsubscribe: (() => void) | undefined;
  private pending = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly log: (msg: string) => void = () => undefined,
  ) {}

  start(): void {
    this.unsubscribe = this.store.subscribe('pods', () => this.kick());
    const unsubNodes = this.store.subscribe('nodes', () => this.kick());
    const prev = this.unsubscribe;
    this.unsubscribe = () => {
      prev();
      unsubNodes();
    };
    this.kick();
  }

  stop(): void {
    this.unsubscribe?.();
  }

  /** Coalesces bursts (a Deployment scaled to 100 is one pass). */
  private kick(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      this.schedule();
    });
  }

  private static ready(node: StoredObject): boolean {
    const conds = (node.status?.conditions ?? []) as { type: string; status: string }[];
    return conds.some((c) => c.type === 'Ready' && c.status === 'True') && !node.spec?.unschedulable;
  }

  schedule(): void {
    const nodes = [...this.store.scan('nodes')].filter(Scheduler.ready).map((n) => n.metadata.name).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (nodes.length === 0) return;
    const load = new Map(nodes.map((n) => [n, 0]));
    const unbound: StoredObject[] = [];
    for (const p of this.store.scan('pods')) {
      const n = p.spec?.nodeName as string | undefined;
      if (n) {
        if (load.has(n)) load.set(n, load.get(n)! + 1);
      } else if (!p.metadata.deletionTimestamp) {
        unbound.push(p);
      }
    }
    unbound.sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp) || a.metadata.name.localeCompare(b.metadata.name));
    for (const p of unbound) {
      let best = nodes[0]!;
      for (const n of nodes) if (load.get(n)! < load.get(best)!) best = n;
      try {
        this.store.patch('pods', p.metadata.namespace ?? 'default', p.metadata.name, { spec: { nodeName: best } }, 'merge');
        load.set(best, load.get(best)! + 1);
      } catch (err) {
        this.log(`scheduler: binding ${p.metadata.name} to ${best}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
