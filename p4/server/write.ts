// One Write request, update by update: static validation, the state checks
// of the entity store, the target, then the store records it. Each update
// is all-or-nothing; CONTINUE_ON_ERROR carries on after a failure,
// ROLLBACK_ON_ERROR undoes what the batch applied and stops.
import { Code } from '../proto/codes.js';
import type { P4InfoIndex } from '../p4info/p4info.js';
import type { P4Error, Update } from '../proto/types.js';
import { EntityStore } from './entity-store.js';
import type { P4Target, TargetUpdate } from './target.js';
import { TargetError } from './target.js';
import { UpdateError } from './update-error.js';
import { validateUpdate } from './validate.js';

export interface WriteOutcome {
  /** One per update, in order; canonical_code 0 for the ones that applied. */
  errors: P4Error[];
  failed: number;
}

const OK: P4Error = { canonical_code: Code.OK, message: '', space: '', code: 0 };

function toError(err: unknown): P4Error {
  if (err instanceof UpdateError || err instanceof TargetError) {
    return { canonical_code: err.code, message: err.message, space: 'talaria', code: 0 };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { canonical_code: Code.INTERNAL, message: `internal error: ${message}`, space: 'talaria', code: 0 };
}

export async function processWrite(
  p4info: P4InfoIndex,
  store: EntityStore,
  target: P4Target,
  updates: readonly Update[],
  rollback: boolean,
): Promise<WriteOutcome> {
  const errors: P4Error[] = [];
  const applied: TargetUpdate[] = [];
  let failed = 0;
  for (let i = 0; i < updates.length; i++) {
    try {
      const { type, entity } = validateUpdate(p4info, updates[i]);
      const update = store.prepare(type, entity);
      await target.apply(update, store);
      store.commit(update);
      applied.push(update);
      errors.push(OK);
    } catch (err) {
      failed++;
      errors.push(toError(err));
      if (rollback) {
        await undo(store, target, applied);
        const reason = `rolled back: update ${i} failed`;
        for (let j = 0; j < errors.length - 1; j++) errors[j] = { canonical_code: Code.ABORTED, message: reason, space: 'talaria', code: 0 };
        for (let j = i + 1; j < updates.length; j++) errors.push({ canonical_code: Code.ABORTED, message: `not applied: update ${i} failed`, space: 'talaria', code: 0 });
        return { errors, failed: updates.length };
      }
    }
  }
  return { errors, failed };
}

async function undo(store: EntityStore, target: P4Target, applied: TargetUpdate[]): Promise<void> {
  for (const update of applied.reverse()) {
    const inverse = EntityStore.inverse(update);
    await target.apply(inverse, store);
    store.commit(inverse);
  }
}
