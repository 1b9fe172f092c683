// The entities a device holds, as the server knows them: checks an update
// against the current state (duplicates, missing entries, references,
// capacity), hands the target a complete TargetUpdate, and records it once
// the target applied it. Also what Read enumerates and what a target may
// look up while applying (StoreView).
import { Code } from '../proto/codes.js';
import type { TargetEntity, TargetGroup, TargetMember, TargetTableEntry, TargetUpdate, StoreView } from './target.js';
import { UpdateError } from './update-error.js';
import { groupKey, memberKey } from './validate.js';

type RefKey = string;

export class EntityStore implements StoreView {
  private readonly tables = new Map<number, Map<string, TargetTableEntry>>();
  private readonly members = new Map<number, Map<number, TargetMember>>();
  private readonly groups = new Map<number, Map<number, TargetGroup>>();
  /** member/group key -> keys of what references it (groups and table entries). */
  private readonly refs = new Map<RefKey, Set<string>>();

  /** `capacity(id)`: entries a table (or members a profile) may hold. */
  constructor(private readonly capacity: (objectId: number) => number) {}

  clear(): void {
    this.tables.clear();
    this.members.clear();
    this.groups.clear();
    this.refs.clear();
  }

  // ---- StoreView ----------------------------------------------------------

  member(profileId: number, memberId: number): TargetMember | undefined {
    return this.members.get(profileId)?.get(memberId);
  }

  group(profileId: number, groupId: number): TargetGroup | undefined {
    return this.groups.get(profileId)?.get(groupId);
  }

  groupsWithMember(profileId: number, memberId: number): readonly TargetGroup[] {
    const users = this.refs.get(memberKey(profileId, memberId)) ?? new Set();
    return [...(this.groups.get(profileId)?.values() ?? [])].filter((g) => users.has(g.key));
  }

  entriesUsing(tableId: number, ref: { groupId: number } | { memberId: number }): readonly TargetTableEntry[] {
    const entries = this.tables.get(tableId);
    if (!entries) return [];
    return [...entries.values()].filter((e) =>
      'groupId' in ref ? e.action.kind === 'group' && e.action.groupId === ref.groupId : e.action.kind === 'member' && e.action.memberId === ref.memberId,
    );
  }

  tableEntries(tableId: number): Iterable<TargetTableEntry> {
    return this.tables.get(tableId)?.values() ?? [];
  }

  allMembers(profileId: number): Iterable<TargetMember> {
    return this.members.get(profileId)?.values() ?? [];
  }

  allGroups(profileId: number): Iterable<TargetGroup> {
    return this.groups.get(profileId)?.values() ?? [];
  }

  tableEntry(tableId: number, key: string): TargetTableEntry | undefined {
    return this.tables.get(tableId)?.get(key);
  }

  size(tableId: number): number {
    return this.tables.get(tableId)?.size ?? 0;
  }

  // ---- Checking and recording updates ---------------------------------------

  private stored(entity: TargetEntity): TargetEntity | undefined {
    switch (entity.kind) {
      case 'table_entry':
        return this.tables.get(entity.table.id)?.get(entity.key);
      case 'action_profile_member':
        return this.member(entity.profile.id, entity.memberId);
      case 'action_profile_group':
        return this.group(entity.profile.id, entity.groupId);
    }
  }

  private label(entity: TargetEntity): string {
    switch (entity.kind) {
      case 'table_entry':
        return `table '${entity.table.alias}' entry ${entity.key.split('|')[1] || '(empty key)'}`;
      case 'action_profile_member':
        return `${entity.profile.alias} member ${entity.memberId}`;
      case 'action_profile_group':
        return `${entity.profile.alias} group ${entity.groupId}`;
    }
  }

  private count(entity: TargetEntity): number {
    if (entity.kind === 'table_entry') return this.size(entity.table.id);
    if (entity.kind === 'action_profile_member') return this.members.get(entity.profile.id)?.size ?? 0;
    return 0;
  }

  private capacityOf(entity: TargetEntity): number {
    if (entity.kind === 'table_entry') return this.capacity(entity.table.id);
    if (entity.kind === 'action_profile_member') return this.capacity(entity.profile.id);
    return Number.POSITIVE_INFINITY;
  }

  private checkReferences(entity: TargetEntity): void {
    if (entity.kind === 'table_entry' && entity.action.kind !== 'action') {
      const profileId = entity.table.implementationId;
      const a = entity.action;
      const found = a.kind === 'group' ? this.group(profileId, a.groupId) : this.member(profileId, a.memberId);
      if (!found) {
        throw new UpdateError(Code.NOT_FOUND, `${this.label(entity)}: ${a.kind} ${a.kind === 'group' ? a.groupId : a.memberId} does not exist`);
      }
    }
    if (entity.kind === 'action_profile_group') {
      for (const m of entity.members) {
        if (!this.member(entity.profile.id, m.memberId)) {
          throw new UpdateError(Code.NOT_FOUND, `${this.label(entity)}: member ${m.memberId} does not exist`);
        }
      }
    }
  }

  /** Checks an update against the state; the TargetUpdate to apply, or an UpdateError. */
  prepare(type: 'INSERT' | 'MODIFY' | 'DELETE', entity: TargetEntity): TargetUpdate {
    const existing = this.stored(entity);
    const label = this.label(entity);
    switch (type) {
      case 'INSERT': {
        if (existing) throw new UpdateError(Code.ALREADY_EXISTS, `${label} already exists`);
        const capacity = this.capacityOf(entity);
        if (this.count(entity) >= capacity) throw new UpdateError(Code.RESOURCE_EXHAUSTED, `${label}: full (${capacity} entries)`);
        this.checkReferences(entity);
        return { type, entity };
      }
      case 'MODIFY': {
        if (!existing) throw new UpdateError(Code.NOT_FOUND, `${label} does not exist`);
        this.checkReferences(entity);
        return { type, entity, previous: existing };
      }
      case 'DELETE': {
        if (!existing) throw new UpdateError(Code.NOT_FOUND, `${label} does not exist`);
        const users = this.refs.get(existing.key);
        if (users && users.size > 0) {
          throw new UpdateError(Code.FAILED_PRECONDITION, `${label} is still used by ${users.size} group(s) or table entries`);
        }
        return { type, entity: existing };
      }
    }
  }

  private references(entity: TargetEntity): RefKey[] {
    if (entity.kind === 'table_entry') {
      const a = entity.action;
      if (a.kind === 'group') return [groupKey(entity.table.implementationId, a.groupId)];
      if (a.kind === 'member') return [memberKey(entity.table.implementationId, a.memberId)];
      return [];
    }
    if (entity.kind === 'action_profile_group') return entity.members.map((m) => memberKey(entity.profile.id, m.memberId));
    return [];
  }

  private link(entity: TargetEntity, on: boolean): void {
    for (const ref of this.references(entity)) {
      let users = this.refs.get(ref);
      if (!users) this.refs.set(ref, (users = new Set()));
      if (on) users.add(entity.key);
      else users.delete(entity.key);
      if (users.size === 0) this.refs.delete(ref);
    }
  }

  /** Records an update the target applied. */
  commit(update: TargetUpdate): void {
    const { entity } = update;
    const old = update.type === 'INSERT' ? undefined : (update.previous ?? this.stored(entity));
    if (old) this.link(old, false);
    const put = update.type !== 'DELETE';
    if (put) this.link(entity, true);
    switch (entity.kind) {
      case 'table_entry': {
        let entries = this.tables.get(entity.table.id);
        if (!entries) this.tables.set(entity.table.id, (entries = new Map()));
        if (put) entries.set(entity.key, entity);
        else entries.delete(entity.key);
        break;
      }
      case 'action_profile_member': {
        let members = this.members.get(entity.profile.id);
        if (!members) this.members.set(entity.profile.id, (members = new Map()));
        if (put) members.set(entity.memberId, entity);
        else members.delete(entity.memberId);
        break;
      }
      case 'action_profile_group': {
        let groups = this.groups.get(entity.profile.id);
        if (!groups) this.groups.set(entity.profile.id, (groups = new Map()));
        if (put) groups.set(entity.groupId, entity);
        else groups.delete(entity.groupId);
        break;
      }
    }
  }

  /** The update that undoes an applied one (for ROLLBACK_ON_ERROR). */
  static inverse(update: TargetUpdate): TargetUpdate {
    switch (update.type) {
      case 'INSERT':
        return { type: 'DELETE', entity: update.entity };
      case 'DELETE':
        return { type: 'INSERT', entity: update.entity };
      case 'MODIFY':
        return { type: 'MODIFY', entity: update.previous ?? update.entity, previous: update.entity };
    }
  }
}
