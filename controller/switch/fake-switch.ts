// A switch for tests of the sync logic: keeps decoded entities, enforces the
// references a real P4Runtime server enforces (a group's members exist, a
// member in a group cannot be deleted, backend_select names an existing
// group), so a write in the wrong order fails here as it would there; and
// can be told to refuse updates.
import type { Entity as P4Entity, Update } from '../../p4/proto/types.js';
import { entityKey, type Entity } from '../desired/entities.js';
import type { EntityCodec } from './codec.js';
import { GrpcCode, type SwitchSession, type UpdateFailure } from './session.js';

export class FakeSwitch implements SwitchSession {
  readonly entities = new Map<string, Entity>();
  writes = 0;
  updates = 0;
  /** Return a message to refuse the update. */
  refuse: ((u: Update, e: Entity) => string | undefined) | undefined;
  /** Rejects whole RPCs while set (connection lost). */
  down = false;

  constructor(private readonly codec: EntityCodec) {}

  async write(updates: Update[]): Promise<UpdateFailure[]> {
    if (this.down) throw new Error('switch unreachable');
    this.writes++;
    const failures: UpdateFailure[] = [];
    updates.forEach((u, index) => {
      const e = this.codec.decode(u.entity);
      if (!e) throw new Error('undecodable entity');
      const why = this.refuse?.(u, e) ?? this.check(u.type, e);
      if (why) {
        failures.push({ index, code: typeof why === 'string' ? GrpcCode.RESOURCE_EXHAUSTED : why.code, message: typeof why === 'string' ? why : why.message });
        return;
      }
      this.updates++;
      if (u.type === 'DELETE') this.entities.delete(entityKey(e));
      else this.entities.set(entityKey(e), e);
    });
    return failures;
  }

  async read(_entities: P4Entity[]): Promise<P4Entity[]> {
    if (this.down) throw new Error('switch unreachable');
    return [...this.entities.values()].map((e) => this.codec.encode(e));
  }

  lines(): string[] {
    return [...this.entities.keys()].sort();
  }

  private check(type: string, e: Entity): { code: number; message: string } | undefined {
    const key = entityKey(e);
    const exists = this.entities.has(key);
    if (type === 'INSERT' && exists) return { code: GrpcCode.ALREADY_EXISTS, message: `${key} exists` };
    if (type !== 'INSERT' && !exists) return { code: GrpcCode.NOT_FOUND, message: `${key} not found` };
    if (type === 'DELETE') {
      if (e.type === 'member' && [...this.entities.values()].some((g) => g.type === 'group' && g.members.includes(e.memberId))) {
        return { code: 9, message: `member ${e.memberId} is in a group` };
      }
      if (e.type === 'group' && [...this.entities.values()].some((s) => s.type === 'select' && s.groupId === e.groupId)) {
        return { code: 9, message: `group ${e.groupId} is in use` };
      }
      return undefined;
    }
    if (e.type === 'group') {
      const missing = e.members.find((m) => !this.entities.has(`member ${m}`));
      if (missing !== undefined) return { code: GrpcCode.NOT_FOUND, message: `member ${missing} missing` };
    }
    if (e.type === 'select' && !this.entities.has(`group ${e.groupId}`)) return { code: GrpcCode.NOT_FOUND, message: `group ${e.groupId} missing` };
    return undefined;
  }
}
