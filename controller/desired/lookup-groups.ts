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
// (to_backend of the backend Maglev gives that slot). The target's hash
// modulo a fixed member count picks a fixed slot; when backends change, only
// the members of the slots Maglev moves are modified. The group itself, and
// the members' order on the target, never change. ClusterIP-only groups keep
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
 * The backend id of every slot (LOOKUP_SLOTS of them). Keyed by backend id,
 * which stays with its endpoint, so that other backends keep their slots
 * when one joins or leaves.
 */
export function lookupSlots(backendIds: readonly number[]): number[] {
  const table = buildMaglevTable(backendIds.map((id) => ({ key: String(id), weight: 1 })), LOOKUP_SLOTS);
  return Array.from(table, (i) => backendIds[i]!);
}
