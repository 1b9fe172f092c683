// The testbed has no kube-scheduler: this binds pods without spec.nodeName to
// the Ready, schedulable Node with the fewest pods (ties go round-robin), and
// binds waiting pods as soon as a Node becomes Ready.
import type { ObjectStore } from '../apiserver/store.js';
import type { KubeObject, StoredObject, WatchEvent } from '../apiserver/types.js';
import { QueueController } from './queue-controller.js';
import { WorkQueue } from './work-queue.js';

/** Is the Node Ready (condition Ready=True) and not cordoned? */
export function nodeSchedulable(node: KubeObject): boolean {
  const conds = node.status?.conditions as Array<{ type: string; status: string }> | undefined;
  return !node.spec?.unschedulable && !!conds?.some((c) => c.type === 'Ready' && c.status === 'True');
}

function counts(pod: StoredObject | undefined): string | undefined {
  if (!pod || !pod.spec?.nodeName) return undefined;
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' ? undefined : pod.spec.nodeName;
}

export class Scheduler extends QueueController {
  private readonly load = new Map<string, number>(); // node -> pods bound to it
  protected override readonly queue: WorkQueue;
  private lastPicked = '';

  constructor(
    private readonly store: ObjectStore,
    onError?: (key: string, err: unknown) => void,
  ) {
    super();
    this.queue = new WorkQueue((k) => this.bind(k), onError ?? ((k, e) => process.stderr.write(`scheduler: binding pod ${k} failed: ${String(e)}\n`)));
  }

  start(): void {
    for (const p of this.store.scan('pods')) {
      this.account(counts(p), 1);
      if (!p.spec?.nodeName && !p.metadata.deletionTimestamp) this.queue.add(`${p.metadata.namespace}/${p.metadata.name}`);
    }
    this.offs.push(this.store.subscribe('pods', (e) => this.onPod(e)));
    this.offs.push(this.store.subscribe('nodes', (e) => this.onNode(e)));
  }

  /** The node a new pod should go to, or undefined when no node is Ready. */
  pickNode(): string | undefined {
    const nodes = [...this.store.scan('nodes')].filter(nodeSchedulable).map((n) => n.metadata.name).sort();
    if (!nodes.length) return undefined;
    let min = Infinity;
    for (const n of nodes) min = Math.min(min, this.load.get(n) ?? 0);
    const least = nodes.filter((n) => (this.load.get(n) ?? 0) === min);
    const pick = least.find((n) => n > this.lastPicked) ?? least[0]!;
    this.lastPicked = pick;
    return pick;
  }

  private account(node: string | undefined, delta: number): void {
    if (node) this.load.set(node, (this.load.get(node) ?? 0) + delta);
  }

  private onPod(e: WatchEvent): void {
    const before = e.type === 'ADDED' ? undefined : counts(e.oldObject);
    const after = e.type === 'DELETED' ? undefined : counts(e.object);
    if (before !== after) {
      this.account(before, -1);
      this.account(after, 1);
    }
    if (e.type !== 'DELETED' && !e.object.spec?.nodeName && !e.object.metadata.deletionTimestamp) {
      this.queue.add(`${e.object.metadata.namespace}/${e.object.metadata.name}`);
    }
  }

  private onNode(e: WatchEvent): void {
    if (e.type === 'DELETED' || !nodeSchedulable(e.object)) return;
    if (e.oldObject && nodeSchedulable(e.oldObject)) return;
    for (const p of this.store.scan('pods')) {
      if (!p.spec?.nodeName && !p.metadata.deletionTimestamp) this.queue.add(`${p.metadata.namespace}/${p.metadata.name}`);
    }
  }

  private bind(key: string): void {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const pod = this.store.peek('pods', ns, name);
    if (!pod || pod.spec?.nodeName || pod.metadata.deletionTimestamp) return;
    const node = this.pickNode();
    if (!node) return; // bound when a node becomes Ready
    this.store.patch('pods', ns, name, { spec: { nodeName: node } }, 'merge', { frozen: true });
  }
}
