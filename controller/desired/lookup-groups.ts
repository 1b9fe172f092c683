// Lookup groups: minimal disruption for clients outside the cluster on any
// P4 target.
//
// A client outside the cluster has no Talaria host to pin its connections:
// every packet is chosen afresh by the switch's selector hash, so a backend
// joining or leaving must move as few flows as possible. The software switch's
// selector is Maglev, but a v1model target's action_selector takes the hash
// modulo the number of members: adding a third backend moved 25 of 32 flows
// between the first two on BMv2.
//
// So for a group that outside clients reach (NodePort, LoadBalancer and
// external IPs), the controller writes a Maglev lookup table itself: the
// group always has LOOKUP_SLOTS members, member i acts as slot i of the table
// (to_backend of the backend that owns that slot). The target's hash modulo
// a fixed member count picks a fixed slot. A new group's slots come from
// Maglev; after that the controller moves only the slots it must (see
// lookupSlots): Maglev recomputed from scratch also moves a few slots between
// backends that stay (4-13% of theirs when 1 to 3 of 4 to 10 backends leave),
// and every such slot is an outside client's connection reset. The group
// itself, and the members' order on the target, never change. ClusterIP-only groups keep
// one member per backend: pods' connections are pinned by their hosts.
//
// Cost: LOOKUP_SLOTS members per lookup group (the action profile holds
// SELECTOR_SIZE = 262,144 in talaria.p4: about 2,000 such groups), and a
// backend's share is a whole number of slots, so a group of more than
// LOOKUP_MAX_BACKENDS backends is balanced better by a plain group.
import { buildMaglevTable } from '../../p4/maglev/maglev.js';
import type { FrontendKind } from '../../proxy/frontends.js';

/** Slots of a lookup group: prime (Maglev), at most talaria.p4's @max_group_size (256). */
export const LOOKUP_SLOTS = 127;

/** Above this many backends a group is a plain one (each backend has at least 3 slots of 127, shares within 4:3). */
export const LOOKUP_MAX_BACKENDS = 42;

/**
 * Member ids of lookup slots: the upper half of the 32-bit id space, apart
 * from the members of plain groups (member_id = backend_id, the lower half).
 */
export const LOOKUP_MEMBER_ID_MIN = 0x8000_0000;

/** Frontend kinds that clients outside the cluster reach without a Talaria host. */
export function reachedFromOutside(kind: FrontendKind): boolean {
  return kind !== 'cluster';
}

/** Whether a group of `backends` backends behind frontends of these kinds is a lookup group. */
export function isLookupGroup(kinds: Iterable<FrontendKind>, backends: number): boolean {
  return backends > 0 && backends <= LOOKUP_MAX_BACKENDS && [...kinds].some(reachedFromOutside);
}

/**
 * The backend id of every slot (LOOKUP_SLOTS of them). A new group (no
 * previous assignment, or none of its backends left) gets Maglev's table.
 * Given the assignment the switch holds, every slot of a backend that stays
 * keeps it: the slots of backends that left first go to backends that joined,
 * a joining backend then takes slots from the fullest until it has its share
 * (LOOKUP_SLOTS / N, rounded down), and what is still free goes to the
 * emptiest. So a backend leaving moves only its own flows, one joining moves
 * only the flows it takes over, and an unchanged set moves nothing.
 */
export function lookupSlots(backendIds: readonly number[], previous?: readonly (number | undefined)[]): number[] {
  const stays = new Set(backendIds);
  const slots = previous?.length === LOOKUP_SLOTS ? previous.map((b) => (b !== undefined && stays.has(b) ? b : undefined)) : [];
  if (backendIds.length === 0 || !slots.some((b) => b !== undefined)) {
    const table = buildMaglevTable(backendIds.map((id) => ({ key: String(id), weight: 1 })), LOOKUP_SLOTS);
    return Array.from(table, (i) => backendIds[i]!);
  }
  const owned = new Map(backendIds.map((id) => [id, [] as number[]]));
  slots.forEach((b, i) => b !== undefined && owned.get(b)!.push(i));
  // Ties go to the lower backend id, so that the result depends on nothing but the inputs.
  const pick = (better: (a: number, b: number) => boolean): number => {
    let best: number | undefined;
    for (const id of owned.keys()) if (best === undefined || better(owned.get(id)!.length, owned.get(best)!.length) || (owned.get(id)!.length === owned.get(best)!.length && id < best)) best = id;
    return best!;
  };
  const give = (slot: number, id: number): void => {
    slots[slot] = id;
    owned.get(id)!.push(slot);
  };
  const share = Math.floor(LOOKUP_SLOTS / backendIds.length);
  for (const id of [...backendIds].sort((a, b) => a - b)) {
    while (owned.get(id)!.length < share) {
      const free = slots.indexOf(undefined);
      if (free >= 0) {
        give(free, id);
        continue;
      }
      const donor = pick((a, b) => a > b);
      give(owned.get(donor)!.pop()!, id);
    }
  }
  for (let i = 0; i < LOOKUP_SLOTS; i++) if (slots[i] === undefined) give(i, pick((a, b) => a < b));
  return slots as number[];
}
