// Wire-form P4Runtime entities of talaria.p4, built by name: what a
// controller would send. Used by the tests and the write benchmark of the
// software switch (the controller has its own codec in controller/).
import { encodeValue, type ValueInput } from '../p4info/bytestring.js';
import type { P4InfoIndex } from '../p4info/p4info.js';
import { talariaP4Info } from '../p4info/load-p4info.js';
import type { Action, Entity, FieldMatch } from '../proto/types.js';

export type RouteAction = { kind: 'to_port' | 'to_external'; port: number; dstMac: string } | { kind: 'drop' };

export class TalariaEntities {
  constructor(readonly p4info: P4InfoIndex = talariaP4Info()) {}

  private action(name: string, values: Record<string, ValueInput>): Action {
    const a = this.p4info.action(name);
    return { action_id: a.id, params: a.params.map((p) => ({ param_id: p.id, value: encodeValue(values[p.name]!, p.bitwidth) })) };
  }

  private entry(table: string, match: Record<string, ValueInput | { value: ValueInput; prefixLen: number }>, action: NonNullable<NonNullable<Entity['table_entry']>['action']>): Entity {
    const t = this.p4info.table(table);
    const fm: FieldMatch[] = [];
    for (const f of t.matchFields) {
      const v = match[f.name]!;
      if (typeof v === 'object' && v !== null && 'prefixLen' in v) {
        // A /0 prefix is a wildcard: P4Runtime omits the field.
        if (v.prefixLen > 0) fm.push({ field_id: f.id, lpm: { value: encodeValue(v.value, f.bitwidth), prefix_len: v.prefixLen } });
      } else {
        fm.push({ field_id: f.id, exact: { value: encodeValue(v, f.bitwidth) } });
      }
    }
    return { table_entry: { table_id: t.id, match: fm, action } };
  }

  frontend(addr: string, port: number, protocol: number, frontendId: number, flags = 0): Entity {
    return this.entry('frontends', { dst_addr: addr, dst_port: port, protocol }, { action: this.action('set_frontend', { frontend_id: frontendId, flags }) });
  }

  backendSelect(frontendId: number, ref: { groupId: number } | { memberId: number }): Entity {
    const action = 'groupId' in ref ? { action_profile_group_id: ref.groupId } : { action_profile_member_id: ref.memberId };
    return this.entry('backend_select', { frontend_id: frontendId }, action);
  }

  backend(frontendId: number, backendId: number, addr: string, port: number): Entity {
    return this.entry('backends', { frontend_id: frontendId, backend_id: backendId }, { action: this.action('to_backend', { backend_id: backendId, addr, port }) });
  }

  reverseNat(frontendId: number, addr: string, port: number): Entity {
    return this.entry('reverse_nat', { frontend_id: frontendId }, { action: this.action('restore_frontend', { addr, port }) });
  }

  /** `cidr` as "10.244.1.0/24". */
  route(cidr: string, action: RouteAction): Entity {
    const [addr, len] = cidr.split('/');
    const a = action.kind === 'drop' ? this.action('drop', {}) : this.action(action.kind, { port: action.port, dst_mac: action.dstMac });
    return this.entry('routes', { dst_addr: { value: addr!, prefixLen: Number(len ?? 32) } }, { action: a });
  }

  /** The source MAC of packets leaving switch port `port`. */
  egressPort(port: number, mac: string): Entity {
    return this.entry('egress_ports', { port }, { action: this.action('set_source_mac', { mac }) });
  }

  /** A source range of a frontend (loadBalancerSourceRanges); `cidr` as "192.0.2.0/24". */
  sourceRange(frontendId: number, cidr: string): Entity {
    const [addr, len] = cidr.split('/');
    return this.entry('source_ranges', { frontend_id: frontendId, src_addr: { value: addr!, prefixLen: Number(len ?? 32) } }, { action: this.action('allow_source', {}) });
  }

  member(memberId: number, backendId: number, addr: string, port: number): Entity {
    return {
      action_profile_member: { action_profile_id: this.p4info.actionProfile('backend_selector').id, member_id: memberId, action: this.action('to_backend', { backend_id: backendId, addr, port }) },
    };
  }

  group(groupId: number, members: readonly (readonly [memberId: number, weight: number])[], maxSize = 0): Entity {
    return {
      action_profile_group: {
        action_profile_id: this.p4info.actionProfile('backend_selector').id,
        group_id: groupId,
        members: members.map(([member_id, weight]) => ({ member_id, weight })),
        max_size: maxSize,
      },
    };
  }
}
