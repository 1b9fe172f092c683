// The switch state as the controller thinks of it: one typed value per P4
// entity of talaria.p4, independent of the P4Runtime wire format (the
// encoder in controller/switch/ maps these to and from P4Runtime entities).
// Each entity has a key (what the switch identifies it by) and a value; two
// entities with the same key and different values mean MODIFY.

export type L4Protocol = 'TCP' | 'UDP';

/** IP protocol numbers, as matched by the `frontends` table. */
export const protocolNumbers: Record<L4Protocol, number> = { TCP: 6, UDP: 17 };

/** `frontends`: dst addr, dst port, protocol -> set_frontend(frontend_id, flags). */
export interface FrontendEntity {
  readonly type: 'frontend';
  readonly addr: string;
  readonly port: number;
  readonly protocol: L4Protocol;
  readonly frontendId: number;
  readonly flags: number;
}

/** `backend_select`: frontend_id -> action profile group (selector over the 5-tuple). */
export interface SelectEntity {
  readonly type: 'select';
  readonly frontendId: number;
  readonly groupId: number;
}

/** A member of the action profile `backend_selector`: to_backend(backend_id, addr, port). member_id = backend_id, except the slots of lookup groups (lookup-groups.ts). */
export interface MemberEntity {
  readonly type: 'member';
  readonly memberId: number;
  readonly backendId: number;
  readonly addr: string;
  readonly port: number;
}

/** A group of the action profile: the selectable backends of one frontend set. */
export interface GroupEntity {
  readonly type: 'group';
  readonly groupId: number;
  /** Member ids, ascending. */
  readonly members: readonly number[];
}

/** `backends`: (frontend_id, backend_id) -> to_backend(backend_id, addr, port), for PINNED packets. */
export interface BackendEntity {
  readonly type: 'backend';
  readonly frontendId: number;
  readonly backendId: number;
  readonly addr: string;
  readonly port: number;
}

/** `reverse_nat`: frontend_id -> restore_frontend(addr, port). */
export interface ReverseNatEntity {
  readonly type: 'reverse';
  readonly frontendId: number;
  readonly addr: string;
  readonly port: number;
}

/** `routes`: dst addr (lpm) -> to_port / to_external (port, dst_mac). */
export interface RouteEntity {
  readonly type: 'route';
  readonly prefix: string;
  readonly prefixLen: number;
  readonly action: 'to_port' | 'to_external';
  readonly port: number;
  /** "aa:bb:cc:dd:ee:ff", lower case. */
  readonly mac: string;
}

/** `source_ranges`: (frontend_id, src_addr lpm) -> allow_source(), one per loadBalancerSourceRanges CIDR. */
export interface SourceRangeEntity {
  readonly type: 'source';
  readonly frontendId: number;
  readonly prefix: string;
  readonly prefixLen: number;
}

/** `egress_ports`: port -> set_source_mac(mac), the port's own MAC (--port-mac). */
export interface EgressPortEntity {
  readonly type: 'egress';
  readonly port: number;
  /** "aa:bb:cc:dd:ee:ff", lower case. */
  readonly mac: string;
}

export type Entity = FrontendEntity | SelectEntity | MemberEntity | GroupEntity | BackendEntity | ReverseNatEntity | SourceRangeEntity | RouteEntity | EgressPortEntity;
export type EntityType = Entity['type'];

/** What the switch identifies the entity by (table + match key, or profile + id). */
export function entityKey(e: Entity): string {
  switch (e.type) {
    case 'frontend':
      return `frontend ${e.addr} ${e.port} ${e.protocol}`;
    case 'select':
      return `select ${e.frontendId}`;
    case 'member':
      return `member ${e.memberId}`;
    case 'group':
      return `group ${e.groupId}`;
    case 'backend':
      return `backend ${e.frontendId} ${e.backendId}`;
    case 'reverse':
      return `reverse ${e.frontendId}`;
    case 'source':
      return `source ${e.frontendId} ${e.prefix}/${e.prefixLen}`;
    case 'route':
      return `route ${e.prefix}/${e.prefixLen}`;
    case 'egress':
      return `egress ${e.port}`;
  }
}

/** The value part; equal keys with different values need a MODIFY. */
export function entityValue(e: Entity): string {
  switch (e.type) {
    case 'frontend':
      return `${e.frontendId} ${e.flags}`;
    case 'select':
      return `${e.groupId}`;
    case 'member':
    case 'backend':
      return `${e.backendId} ${e.addr} ${e.port}`;
    case 'group':
      return e.members.join(',');
    case 'reverse':
      return `${e.addr} ${e.port}`;
    case 'source':
      return '';
    case 'route':
      return `${e.action} ${e.port} ${e.mac}`;
    case 'egress':
      return e.mac;
  }
}

/** One line per entity, for logs and golden tests. */
export function formatEntity(e: Entity): string {
  switch (e.type) {
    case 'frontend':
      return `frontends ${e.addr}:${e.port}/${e.protocol} -> set_frontend(${e.frontendId}, 0x${e.flags.toString(16)})`;
    case 'select':
      return `backend_select ${e.frontendId} -> group ${e.groupId}`;
    case 'member':
      return `member ${e.memberId} = to_backend(${e.backendId}, ${e.addr}, ${e.port})`;
    case 'group':
      return `group ${e.groupId} = [${e.members.join(',')}]`;
    case 'backend':
      return `backends ${e.frontendId},${e.backendId} -> to_backend(${e.backendId}, ${e.addr}, ${e.port})`;
    case 'reverse':
      return `reverse_nat ${e.frontendId} -> restore_frontend(${e.addr}, ${e.port})`;
    case 'source':
      return `source_ranges ${e.frontendId},${e.prefix}/${e.prefixLen} -> allow_source()`;
    case 'route':
      return `routes ${e.prefix}/${e.prefixLen} -> ${e.action}(${e.port}, ${e.mac})`;
    case 'egress':
      return `egress_ports ${e.port} -> set_source_mac(${e.mac})`;
  }
}

/**
 * Safe write order (DESIGN.md, Controller): things are created before what
 * refers to them: members, groups, then the tables, frontends after them so
 * that traffic only matches once the rest is there (a frontend's source
 * ranges exist before its flag asks for them, and go after it no longer
 * does), and routes last. A
 * route written before the frontends of its node's addresses would send a
 * client's packets for a NodePort to the node's own stack, which answers
 * with a reset: after a switch reboot that closed every connection of
 * clients outside the cluster (e2e faults suite). Without a route the
 * packets are dropped and TCP sends them again. Deletions run in the
 * reverse order.
 */
export const writeOrder: readonly EntityType[] = ['egress', 'member', 'group', 'backend', 'reverse', 'select', 'source', 'frontend', 'route'];
