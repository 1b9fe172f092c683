// P4Runtime write fuzzing: random and mutated WriteRequests against a
// server (any target), seeded from valid talaria.p4 entities. After every
// request the switch's whole state is read back. Properties:
// - the server answers every request and every read (no crash, no hang);
// - a refused single update, or a refused atomic batch (ROLLBACK_ON_ERROR,
//   DATAPLANE_ATOMIC), leaves the state exactly as it was;
// - every refusal carries a code the P4Runtime spec allows for Write errors,
//   never UNKNOWN, INTERNAL or DATA_LOSS.
import { P4RuntimeError, P4RuntimeWriteError } from '../client/errors.js';
import type { P4RuntimeClient } from '../client/client.js';
import { Code, codeName } from '../proto/codes.js';
import type { Atomicity, Entity, Update, UpdateType } from '../proto/types.js';
import { TalariaEntities } from '../softswitch/wire-entities.js';
import { Random } from '../../bpf/testing/random.js';

/** Codes a refused update or Write may carry (P4Runtime spec, "Error reporting"). */
const ALLOWED = new Set<number>([
  Code.INVALID_ARGUMENT,
  Code.NOT_FOUND,
  Code.ALREADY_EXISTS,
  Code.OUT_OF_RANGE,
  Code.RESOURCE_EXHAUSTED,
  Code.UNIMPLEMENTED,
  Code.FAILED_PRECONDITION,
  Code.PERMISSION_DENIED,
  // An update not applied because another of its atomic batch failed.
  Code.ABORTED,
]);

export interface FuzzReport {
  requests: number;
  updates: number;
  /** Requests that applied in full. */
  accepted: number;
  /** Refusals by code name (updates, or whole requests). */
  refused: Record<string, number>;
  /** Property violations, each with the seed and request number to replay it. */
  problems: string[];
  /** Violations that match a known deviation of the target, counted by its description. */
  known: Record<string, number>;
  /** Times the target could no longer be read (a known deviation) and was reset to go on. */
  resets: number;
}

/** A documented way a target departs from the properties: reported, not failed. */
export interface KnownDeviation {
  description: string;
  pattern: RegExp;
}

/** Valid talaria.p4 entities over a small id space, so that inserts, modifies and deletes meet each other. */
function seeds(e: TalariaEntities, r: Random): Entity[] {
  const fid = 1 + r.below(4);
  const bid = 1 + r.below(4);
  return [
    e.frontend(`10.96.0.${1 + r.below(4)}`, r.pick([80, 443]), r.pick([6, 17]), fid, r.below(2)),
    e.backend(fid, bid, `10.244.1.${1 + r.below(8)}`, 8080),
    e.reverseNat(fid, `10.96.0.${1 + r.below(4)}`, 80),
    e.route(`10.244.${r.below(4)}.0/24`, r.chance(0.8) ? { kind: 'to_port', port: 1 + r.below(3), dstMac: '02:00:00:00:00:01' } : { kind: 'drop' }),
    e.egressPort(1 + r.below(3), '02:00:00:00:01:01'),
    e.sourceRange(fid, r.chance(0.5) ? `198.51.${r.below(4)}.0/24` : `10.244.1.${1 + r.below(8)}/32`),
    e.member(1 + r.below(6), bid, `10.244.1.${1 + r.below(8)}`, 8080),
    e.group(1 + r.below(3), Array.from({ length: r.below(4) }, (_, i) => [1 + ((i + r.below(6)) % 6), 1] as const)),
    e.backendSelect(fid, r.chance(0.8) ? { groupId: 1 + r.below(3) } : { memberId: 1 + r.below(6) }),
  ];
}

/** One random change to a valid entity: ids, widths, prefixes, params, members, oneofs. */
function mutate(entity: Entity, r: Random, e: TalariaEntities): Entity {
  const m = structuredClone(entity) as Entity;
  const te = m.table_entry;
  const anyTable = () => r.pick([0, r.u32(), ...(e.p4info.message.tables ?? []).map((t) => t.preamble.id)]);
  if (te) {
    switch (r.below(10)) {
      case 0:
        te.table_id = anyTable();
        break;
      case 1:
        te.match = (te.match ?? []).slice(0, Math.max(0, (te.match ?? []).length - 1));
        break;
      case 2:
        te.match = [...(te.match ?? []), ...(te.match ?? []).slice(0, 1)];
        break;
      case 3: {
        const f = (te.match ?? [])[0];
        if (f?.exact) f.exact.value = r.pick([Buffer.alloc(0), r.bytes(1 + r.below(20)), Buffer.concat([Buffer.from([0xff]), f.exact.value as Buffer])]);
        else if (f?.lpm) f.lpm.prefix_len = r.pick([0, 33, 64, 255, r.below(40)]);
        break;
      }
      case 4:
        if (te.match?.[0]) te.match[0].field_id = r.pick([0, 99, r.u32()]);
        break;
      case 5:
        if (te.action?.action) te.action.action.action_id = r.pick([0, r.u32(), ...(e.p4info.message.actions ?? []).map((a) => a.preamble.id)]);
        break;
      case 6:
        if (te.action?.action) te.action.action.params = r.chance(0.5) ? te.action.action.params?.slice(1) : [...(te.action.action.params ?? []), ...(te.action.action.params ?? []).slice(0, 1)];
        break;
      case 7:
        if (te.action?.action?.params?.[0]) te.action.action.params[0].value = r.bytes(r.below(12));
        break;
      case 8:
        te.priority = r.pick([1, 10, 0x7fffffff, -1]);
        break;
      default:
        te.action = r.pick([null, { action_profile_member_id: 1 + r.below(6) }, { action_profile_group_id: 1 + r.below(3) }]);
    }
    return m;
  }
  if (m.action_profile_member) {
    const p = m.action_profile_member;
    if (r.chance(0.4)) p.action_profile_id = r.pick([0, r.u32()]);
    else if (r.chance(0.5) && p.action) p.action.action_id = r.pick([0, r.u32(), ...(e.p4info.message.actions ?? []).map((a) => a.preamble.id)]);
    else p.member_id = r.pick([0, 0xffffffff, 1 + r.below(6)]);
    return m;
  }
  if (m.action_profile_group) {
    const g = m.action_profile_group;
    switch (r.below(4)) {
      case 0:
        g.action_profile_id = r.pick([0, r.u32()]);
        break;
      case 1:
        g.members = [...(g.members ?? []), { member_id: r.pick([0, 99, 1 + r.below(6)]), weight: r.pick([0, 1, 1000]) }];
        break;
      case 2:
        g.max_size = 1;
        g.members = [...(g.members ?? []), { member_id: 1, weight: 1 }, { member_id: 2, weight: 1 }];
        break;
      default:
        g.group_id = r.pick([0, 0xffffffff]);
    }
    return m;
  }
  return m;
}

function randomUpdate(r: Random, e: TalariaEntities): Update {
  const pool = seeds(e, r);
  const base = r.pick(pool);
  const entity = r.chance(0.02) ? {} : r.chance(0.5) ? base : mutate(base, r, e);
  const type: UpdateType = r.chance(0.02) ? 'UNSPECIFIED' : r.pick(['INSERT', 'INSERT', 'MODIFY', 'DELETE'] as const);
  return { type, entity };
}

/** Everything the switch holds, as sorted canonical strings (read with wildcards). */
export async function switchState(client: P4RuntimeClient): Promise<string[]> {
  const entities = await client.readAll([{ table_entry: { table_id: 0 } }, { action_profile_member: { action_profile_id: 0, member_id: 0 } }, { action_profile_group: { action_profile_id: 0, group_id: 0 } }]);
  return entities.map((x) => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).sort();
}

function sameState(a: readonly string[], b: readonly string[]): string | undefined {
  if (a.length === b.length && a.every((x, i) => x === b[i])) return undefined;
  const gone = a.filter((x) => !b.includes(x));
  const added = b.filter((x) => !a.includes(x));
  return `${gone.length} entities gone, ${added.length} appeared (first: ${(added[0] ?? gone[0] ?? '').slice(0, 200)})`;
}

/**
 * Sends `requests` random WriteRequests as the primary `client` and checks
 * the properties after each. Deterministic for a seed and target.
 */
export async function fuzzWrites(
  client: P4RuntimeClient,
  opts: {
    seed: number;
    requests: number;
    known?: readonly KnownDeviation[];
    /** Empties the target (sets the pipeline again) when a known deviation has left it unreadable; without it the run ends there. */
    reset?: () => Promise<void>;
  },
): Promise<FuzzReport> {
  const r = new Random(opts.seed);
  const e = new TalariaEntities();
  const report: FuzzReport = { requests: 0, updates: 0, accepted: 0, refused: {}, problems: [], known: {}, resets: 0 };
  const count = (code: number) => (report.refused[codeName(code)] = (report.refused[codeName(code)] ?? 0) + 1);
  /** Records a violation; true when it is a known deviation. */
  const problem = (text: string): boolean => {
    const k = opts.known?.find((d) => d.pattern.test(text));
    if (k) report.known[k.description] = (report.known[k.description] ?? 0) + 1;
    else report.problems.push(text);
    return k !== undefined;
  };
  let before = await switchState(client);
  for (let i = 0; i < opts.requests && report.problems.length < 10; i++) {
    const where = `seed ${opts.seed}, request ${i}`;
    const updates = Array.from({ length: r.chance(0.7) ? 1 : 2 + r.below(4) }, () => randomUpdate(r, e));
    const atomicity: Atomicity = updates.length === 1 ? 'CONTINUE_ON_ERROR' : r.pick(['ROLLBACK_ON_ERROR', 'DATAPLANE_ATOMIC', 'CONTINUE_ON_ERROR'] as const);
    report.requests++;
    report.updates += updates.length;
    let refused = false;
    try {
      await client.write(updates, { atomicity });
      report.accepted++;
    } catch (err) {
      if (!(err instanceof P4RuntimeError)) {
        problem(`${where}: the client failed: ${(err as Error).message}`);
        continue;
      }
      refused = true;
      const failures = err instanceof P4RuntimeWriteError && err.failures.length ? err.failures.map((f) => ({ code: f.code, what: `update #${f.index} ${f.update.type} ${f.entity}: ${f.message}` })) : [{ code: err.code, what: `the request (${updates.length} updates, ${atomicity}): ${err.details}` }];
      for (const f of failures) {
        count(f.code);
        if (!ALLOWED.has(f.code)) problem(`${where}: refused with ${codeName(f.code)}: ${f.what.slice(0, 300)}`);
      }
    }
    let after: string[];
    try {
      after = await switchState(client);
    } catch (err) {
      const known = problem(`${where}: the switch does not answer a read after the write: ${(err as Error).message}`);
      if (!known || !opts.reset) break;
      await opts.reset();
      report.resets++;
      before = await switchState(client);
      continue;
    }
    if (refused && atomicity !== 'CONTINUE_ON_ERROR') {
      const diff = sameState(before, after);
      if (diff) problem(`${where}: a refused ${atomicity} batch of ${updates.length} changed the switch: ${diff}`);
    }
    if (refused && updates.length === 1) {
      const diff = sameState(before, after);
      if (diff) problem(`${where}: a refused update changed the switch: ${diff}`);
    }
    before = after;
  }
  return report;
}
