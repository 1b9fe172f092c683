// Stable ids for frontends, backends, selector groups and lookup-slot members. An id stays with
// its key for as long as the key exists; a released id is not handed out
// again while the switch still holds an entry with it (a host may still have
// connections pinned to a backend_id), and allocation moves forward
// monotonically so that ids are reused as late as possible.
import { frontendKey } from '../../proxy/frontends.js';
import type { Entity } from './entities.js';

export const MAX_ID = 0xffff_ffff;

export class IdAllocator {
  private readonly byKey = new Map<string, number>();
  private readonly byId = new Map<number, string>();
  private next: number;

  /** @param busy ids that must not be handed out although no key owns them (installed on the switch). */
  constructor(
    readonly name: string,
    private readonly busy: (id: number) => boolean = () => false,
    private readonly max = MAX_ID,
    private readonly min = 1,
  ) {
    this.next = min;
  }

  get(key: string): number | undefined {
    return this.byKey.get(key);
  }

  keyOf(id: number): string | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The id of key, allocating one (the hint when it is free) if needed. */
  allocate(key: string, hint?: number): number {
    const have = this.byKey.get(key);
    if (have !== undefined) return have;
    let id: number;
    if (hint !== undefined && hint >= this.min && hint <= this.max && !this.byId.has(hint)) {
      id = hint;
    } else {
      id = this.fresh();
    }
    this.byKey.set(key, id);
    this.byId.set(id, key);
    if (id >= this.next) this.next = id + 1 > this.max ? this.min : id + 1;
    return id;
  }

  /** Fresh ids start above id (after a restart: above everything the switch holds). */
  advancePast(id: number): void {
    if (id >= this.next && id >= this.min && id < this.max) this.next = id + 1;
  }

  release(key: string): void {
    const id = this.byKey.get(key);
    if (id === undefined) return;
    this.byKey.delete(key);
    this.byId.delete(id);
  }

  *keys(): IterableIterator<string> {
    yield* this.byKey.keys();
  }

  private fresh(): number {
    const span = this.max - this.min + 1;
    for (let tries = 0; tries < span; tries++) {
      const id = this.next;
      this.next = id >= this.max ? this.min : id + 1;
      if (!this.byId.has(id) && !this.busy(id)) return id;
    }
    throw new Error(`${this.name}: all ${span} ids are in use`);
  }
}

/**
 * What the switch holds, as hints for re-adopting ids after a restart. The
 * switch stores no Kubernetes names, but every id sits next to a key that
 * does identify it: a frontend_id next to its (addr, port, protocol), a
 * backend_id next to its frontend and (addr, port), a group next to the
 * frontend that selects through it.
 */
export class AdoptionHints {
  readonly frontend = new Map<string, number>();
  readonly backend = new Map<string, number>();
  readonly group = new Map<string, number>();
  /** Group id -> its member ids, ascending: a lookup group's slot i is its i-th member. */
  readonly groupMembers = new Map<number, readonly number[]>();
  /** Member id -> the backend it forwards to (a lookup slot's backend). */
  readonly memberBackend = new Map<number, number>();

  static fromEntities(entities: Iterable<Entity>): AdoptionHints {
    const h = new AdoptionHints();
    const frontendKeyById = new Map<number, string>();
    const list = [...entities];
    for (const e of list) {
      if (e.type === 'group') h.groupMembers.set(e.groupId, e.members);
      if (e.type === 'member') h.memberBackend.set(e.memberId, e.backendId);
      if (e.type === 'frontend') {
        const k = frontendKey(e.addr, e.port, e.protocol);
        h.frontend.set(k, e.frontendId);
        frontendKeyById.set(e.frontendId, k);
      }
    }
    for (const e of list) {
      const fk = 'frontendId' in e ? frontendKeyById.get(e.frontendId) : undefined;
      if (fk === undefined) continue;
      if (e.type === 'backend') h.backend.set(`${fk}|${e.addr}|${e.port}`, e.backendId);
      if (e.type === 'select') h.group.set(fk, e.groupId);
    }
    return h;
  }
}
