// What the switch holds, as the controller last saw it: filled from a full
// Read on (re)connect, updated with every acknowledged update. Ids referenced
// here are "busy": the allocator never hands them out, so a backend_id is not
// reused while the switch may still steer pinned connections with it.
import { entityKey, type Entity, type EntityType } from '../desired/entities.js';
import { zeroCounts, type Counts } from '../desired/capacity.js';

export class InstalledState {
  private readonly byKey = new Map<string, Entity>();
  private readonly frontendRefs = new Map<number, number>();
  private readonly backendRefs = new Map<number, number>();
  private readonly groupRefs = new Map<number, number>();
  private readonly counts: Counts = zeroCounts();

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): Entity | undefined {
    return this.byKey.get(key);
  }

  values(): IterableIterator<Entity> {
    return this.byKey.values();
  }

  count(type: EntityType): number {
    return this.counts[type];
  }

  hasFrontendId(id: number): boolean {
    return this.frontendRefs.has(id);
  }

  hasBackendId(id: number): boolean {
    return this.backendRefs.has(id);
  }

  hasGroupId(id: number): boolean {
    return this.groupRefs.has(id);
  }

  replaceAll(entities: Iterable<Entity>): void {
    this.byKey.clear();
    this.frontendRefs.clear();
    this.backendRefs.clear();
    this.groupRefs.clear();
    Object.assign(this.counts, zeroCounts());
    for (const e of entities) this.set(e);
  }

  /** Records an acknowledged INSERT or MODIFY. */
  set(e: Entity): void {
    const key = entityKey(e);
    const old = this.byKey.get(key);
    if (old) this.unref(old);
    else this.counts[e.type]++;
    this.byKey.set(key, e);
    this.ref(e);
  }

  /** Records an acknowledged DELETE. */
  delete(e: Entity): void {
    const key = entityKey(e);
    const old = this.byKey.get(key);
    if (!old) return;
    this.unref(old);
    this.counts[e.type]--;
    this.byKey.delete(key);
  }

  private ref(e: Entity): void {
    for (const [map, id] of this.ids(e)) map.set(id, (map.get(id) ?? 0) + 1);
  }

  private unref(e: Entity): void {
    for (const [map, id] of this.ids(e)) {
      const n = (map.get(id) ?? 0) - 1;
      if (n <= 0) map.delete(id);
      else map.set(id, n);
    }
  }

  private ids(e: Entity): [Map<number, number>, number][] {
    switch (e.type) {
      case 'frontend':
      case 'reverse':
        return [[this.frontendRefs, e.frontendId]];
      case 'select':
        return [[this.frontendRefs, e.frontendId], [this.groupRefs, e.groupId]];
      case 'backend':
        return [[this.frontendRefs, e.frontendId], [this.backendRefs, e.backendId]];
      case 'member':
        return [[this.backendRefs, e.backendId]];
      case 'group':
        return [[this.groupRefs, e.groupId]];
      case 'route':
        return [];
    }
  }
}
