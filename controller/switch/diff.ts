// Desired vs installed -> the updates to send, in safe order: inserts and
// modifies first (members, groups, then table entries, frontends last),
// then deletions in the reverse order, so that nothing ever refers to
// something missing and traffic never meets a half-built frontend.
import { entityKey, entityValue, writeOrder, type Entity, type EntityType } from '../desired/entities.js';
import type { InstalledState } from './installed-state.js';

export type UpdateKind = 'INSERT' | 'MODIFY' | 'DELETE';

export interface PlannedUpdate {
  readonly type: UpdateKind;
  readonly entity: Entity;
  /** entityKey(entity), computed once. */
  readonly key: string;
}

/** Phases run one after the other; updates inside a phase are independent of each other. */
export interface Plan {
  readonly phases: readonly { readonly entityType: EntityType; readonly updates: readonly PlannedUpdate[] }[];
  readonly inserts: number;
  readonly modifies: number;
  readonly deletes: number;
}

/**
 * The plan that turns `installed` into `desired` for the keys in scope.
 * Full reconcile: desired = everything, scopeOld = undefined (every
 * installed key is in scope). Partial sync: desired = the changed owners'
 * new entities, scopeOld = their previous entities.
 */
export function planUpdates(installed: InstalledState, desired: Iterable<Entity>, scopeOld?: Iterable<Entity>): Plan {
  const byType = new Map<EntityType, PlannedUpdate[]>(writeOrder.map((t) => [t, []]));
  const deletesByType = new Map<EntityType, PlannedUpdate[]>(writeOrder.map((t) => [t, []]));
  const wanted = new Set<string>();
  let inserts = 0;
  let modifies = 0;
  let deletes = 0;
  for (const e of desired) {
    const key = entityKey(e);
    if (wanted.has(key)) continue;
    wanted.add(key);
    const have = installed.get(key);
    if (!have) {
      byType.get(e.type)!.push({ type: 'INSERT', entity: e, key });
      inserts++;
    } else if (entityValue(have) !== entityValue(e)) {
      byType.get(e.type)!.push({ type: 'MODIFY', entity: e, key });
      modifies++;
    }
  }
  const consider = (key: string): void => {
    if (wanted.has(key)) return;
    const have = installed.get(key);
    if (!have) return;
    wanted.add(key); // once
    deletesByType.get(have.type)!.push({ type: 'DELETE', entity: have, key });
    deletes++;
  };
  if (scopeOld) for (const e of scopeOld) consider(entityKey(e));
  else for (const [key] of installed.entries()) consider(key);
  const phases = [
    ...writeOrder.map((t) => ({ entityType: t, updates: byType.get(t)! })),
    ...[...writeOrder].reverse().map((t) => ({ entityType: t, updates: deletesByType.get(t)! })),
  ].filter((p) => p.updates.length > 0);
  return { phases, inserts, modifies, deletes };
}
