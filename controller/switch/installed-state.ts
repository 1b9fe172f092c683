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
  private readonly memberIds = new Set<number>();
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

  entries(): IterableIterator<[string, Entity]> {
    return this.byKey.entries();
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

  hasMemberId(id: number): boolean {
    return this.memberIds.has(id);
  }

  replaceAll(entities: Iterable<Entity>): void {
    this.byKey.clear();
    this.frontendRefs.clear();
    this.backendRefs.clear();
    this.groupRefs.clear();
    this.memberIds.clear();
    Object.assign(this.counts, zeroCounts());
    for (const e of entities) this.set(e);
  }

  /** Records an acknowledged INSERT or MODIFY. */
  set(e: Entity, key = entityKey(e)): void {
    const old = this.byKey.get(key);
    if (old) this.unref(old);
    else this.counts[e.type]++;
    this.byKey.set(key, e);
    this.ref(e);
  }

  /** Records an acknowledged DELETE. */
  delete(e: Entity, key = entityKey(e)): void {
    const old = this.byKey.get(key);
    if (!old) return;
    this.unref(old);
    this.counts[e.type]--;
    this.byKey.delete(key);
  }

  private ref(e: Entity): void {
    this.adjust(e, 1);
  }

  private unref(e: Entity): void {
    this.adjust(e, -1);
  }

  private adjust(e: Entity, by: number): void {
    switch (e.type) {
      case 'frontend':
      case 'reverse':
      case 'source':
        bump(this.frontendRefs, e.frontendId, by);
        return;
      case 'select':
        bump(this.frontendRefs, e.frontendId, by);
        bump(this.groupRefs, e.groupId, by);
        return;
      case 'backend':
        bump(this.frontendRefs, e.frontendId, by);
        bump(this.backendRefs, e.backendId, by);
        return;
      case 'member':
        bump(this.backendRefs, e.backendId, by);
        if (by > 0) this.memberIds.add(e.memberId);
        else this.memberIds.delete(e.memberId);
        return;
      case 'group':
        bump(this.groupRefs, e.groupId, by);
        return;
      case 'route':
      case 'egress':
        return;
    }
  }
}

function bump(map: Map<number, number>, id: number, by: number): void {
  const n = (map.get(id) ?? 0) + by;
  if (n <= 0) map.delete(id);
  else map.set(id, n);
}
