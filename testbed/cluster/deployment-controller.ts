// The Deployment controller, without ReplicaSets: pods carry an owner
// reference to their Deployment and the label pod-template-hash; the
// controller keeps spec.replicas pods of the current template, places new
// ones with the Scheduler, deletes surplus pods gracefully (unscheduled, then
// not ready, then newest first), replaces pods of an old template once enough
// new ones are ready, and writes the status replica counts.
import { deepEqual } from '../apiserver/deep-equal.js';
import type { ObjectStore } from '../apiserver/store.js';
import type { KubeObject, StoredObject, WatchEvent } from '../apiserver/types.js';
import { podReady } from './endpointslice-controller.js';
import type { Scheduler } from './scheduler.js';
import { QueueController } from './queue-controller.js';
import { WorkQueue } from './work-queue.js';

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
const SAFE_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** Kubernetes' shape of pod-template-hash: an FNV-1a hash of the template, safe-encoded. */
export function podTemplateHash(template: unknown): string {
  const text = JSON.stringify(template ?? {});
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => SAFE_CHARS[c.charCodeAt(0) % SAFE_CHARS.length]).join('');
}

function ownerOf(pod: KubeObject): string | undefined {
  const ref = pod.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'Deployment');
  return ref ? `${pod.metadata.namespace}/${ref.name}` : undefined;
}

function active(pod: StoredObject): boolean {
  const phase = pod.status?.phase;
  return !pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
}

/** Order in which surplus pods go: unscheduled, not ready, then the newest. */
function deletionRank(a: StoredObject, b: StoredObject): number {
  const key = (p: StoredObject): [number, number, string] => [p.spec?.nodeName ? 1 : 0, podReady(p) ? 1 : 0, p.metadata.creationTimestamp];
  const [a1, a2, a3] = key(a);
  const [b1, b2, b3] = key(b);
  return a1 - b1 || a2 - b2 || (a3 > b3 ? -1 : a3 < b3 ? 1 : a.metadata.name < b.metadata.name ? 1 : -1);
}

export class DeploymentController extends QueueController {
  protected override readonly queue: WorkQueue;

  constructor(
    private readonly store: ObjectStore,
    private readonly scheduler: Scheduler | undefined,
    onError?: (key: string, err: unknown) => void,
  ) {
    super();
    this.queue = new WorkQueue((k) => this.sync(k), onError ?? ((k, e) => process.stderr.write(`deployment-controller: sync of deployment ${k} failed: ${String(e)}\n`)));
  }

  start(): void {
    for (const d of this.store.scan('deployments')) this.queue.add(`${d.metadata.namespace}/${d.metadata.name}`);
    this.offs.push(this.store.subscribe('deployments', (e) => {
      if (e.type !== 'DELETED') this.queue.add(`${e.object.metadata.namespace}/${e.object.metadata.name}`);
    }));
    this.offs.push(this.store.subscribe('pods', (e: WatchEvent) => {
      const owner = ownerOf(e.object);
      if (owner) this.queue.add(owner);
    }));
  }

  private sync(key: string): void {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const d = this.store.peek('deployments', ns, name);
    if (!d || d.metadata.deletionTimestamp) return; // its pods go by garbage collection
    const replicas: number = d.spec?.replicas ?? 1;
    const hash = podTemplateHash(d.spec?.template);
    const owned = [...this.store.scan('pods', ns)].filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid && r.controller));
    const live = owned.filter(active);
    const current = live.filter((p) => p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL] === hash);
    const old = live.filter((p) => p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL] !== hash);

    for (let i = current.length; i < replicas; i++) this.createPod(d, hash);
    if (current.length > replicas) {
      for (const p of [...current].sort(deletionRank).slice(0, current.length - replicas)) this.store.delete('pods', ns, p.metadata.name, { frozen: true });
    }
    // Old-template pods go once new ones can carry the load (a 100% surge rollout).
    const readyNew = current.filter(podReady).length;
    const oldToKeep = Math.max(0, replicas - readyNew);
    for (const p of [...old].sort(deletionRank).slice(0, Math.max(0, old.length - oldToKeep))) this.store.delete('pods', ns, p.metadata.name, { frozen: true });

    const after = [...this.store.scan('pods', ns)].filter((p) => active(p) && p.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid && r.controller));
    const ready = after.filter(podReady).length;
    const updated = after.filter((p) => p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL] === hash).length;
    const status = {
      observedGeneration: d.metadata.generation,
      replicas: after.length,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: Math.max(0, replicas - ready),
      conditions: [{ type: 'Available', status: ready >= replicas ? 'True' : 'False', reason: ready >= replicas ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable' }],
    };
    if (!deepEqual(d.status, status)) this.store.update('deployments', { ...d, status }, { subresource: 'status', frozen: true });
  }

  private createPod(d: StoredObject, hash: string): void {
    const tmpl = (d.spec?.template ?? {}) as KubeObject;
    const spec = structuredClone(tmpl.spec ?? {});
    const node = spec.nodeName || this.scheduler?.pickNode();
    if (node) spec.nodeName = node;
    this.store.create('pods', {
      metadata: {
        generateName: `${d.metadata.name}-${hash}-`,
        namespace: d.metadata.namespace,
        labels: { ...(tmpl.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash },
        annotations: tmpl.metadata?.annotations,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name, uid: d.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec,
    }, { frozen: true });
  }
}
