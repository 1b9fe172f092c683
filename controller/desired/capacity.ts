// How many entities of each kind the switch holds: table sizes and the
// action profile's size from the P4Info (the controller plans against
// them; the switch would refuse the excess anyway, mid-batch).
import type { EntityType } from './entities.js';

export type Capacity = Readonly<Record<EntityType, number>> & { readonly maxGroupSize?: number };

export const unlimited: Capacity = {
  frontend: Infinity,
  select: Infinity,
  member: Infinity,
  group: Infinity,
  backend: Infinity,
  reverse: Infinity,
  source: Infinity,
  route: Infinity,
  egress: Infinity,
};

export type Counts = Record<EntityType, number>;

export function zeroCounts(): Counts {
  return { frontend: 0, select: 0, member: 0, group: 0, backend: 0, reverse: 0, source: 0, route: 0, egress: 0 };
}
