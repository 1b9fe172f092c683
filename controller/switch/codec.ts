// controller entities <-> P4Runtime entities of talaria.p4, resolved once
// against the P4Info (names -> ids, widths), so that encoding 100,000s of
// entities per full sync is a few property writes each. Read-back decodes
// canonical bytestrings into the same typed entities the desired state uses,
// so installed and desired compare by key and value.
import type { P4InfoIndex } from '../../p4/p4info/p4info.js';
import type { ActionInfo, TableInfo } from '../../p4/p4info/types.js';
import type { Entity as P4Entity, TableEntry } from '../../p4/proto/types.js';
import type { Capacity } from '../desired/capacity.js';
import { protocolNumbers, type Entity, type L4Protocol } from '../desired/entities.js';

/** The P4Runtime names the controller programs (aliases in talaria.p4's P4Info). */
export const names = {
  frontends: 'frontends',
  backendSelect: 'backend_select',
  backends: 'backends',
  reverseNat: 'reverse_nat',
  routes: 'routes',
  egressPorts: 'egress_ports',
  sourceRanges: 'source_ranges',
  selector: 'backend_selector',
  setFrontend: 'set_frontend',
  toBackend: 'to_backend',
  restoreFrontend: 'restore_frontend',
  toPort: 'to_port',
  toExternal: 'to_external',
  setSourceMac: 'set_source_mac',
  allowSource: 'allow_source',
} as const;

const protocolByNumber = new Map<number, L4Protocol>(Object.entries(protocolNumbers).map(([k, v]) => [v, k as L4Protocol]));

// Encoding 240,000 entities allocates a Buffer per field; ports, protocols and
// small ids repeat, and so do addresses (a backend's address is in its member
// and in one backends entry per frontend). The messages never modify them, so
// shared instances are safe.
const small: (Buffer | undefined)[] = new Array(65536);
const addrCache = new Map<string, Buffer>();

/** Canonical bytestring of a non-negative integer below 2^48 (fast path; no BigInt). */
export function uintBytes(n: number): Buffer {
  if (n < 65536) return (small[n] ??= encodeUint(n));
  return encodeUint(n);
}

function encodeUint(n: number): Buffer {
  let len = 1;
  for (let v = n; v >= 256; v = Math.floor(v / 256)) len++;
  const out = Buffer.allocUnsafe(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = n % 256;
    n = Math.floor(n / 256);
  }
  return out;
}

function bytesUint(b: Uint8Array | undefined): number {
  let n = 0;
  for (const x of b ?? []) n = n * 256 + x;
  return n;
}

function ipv4Bytes(ip: string): Buffer {
  let b = addrCache.get(ip);
  if (b === undefined) {
    const p = ip.split('.');
    b = encodeUint(((+p[0] << 24) >>> 0) + (+p[1] << 16) + (+p[2] << 8) + +p[3]);
    if (addrCache.size >= 1_000_000) addrCache.clear();
    addrCache.set(ip, b);
  }
  return b;
}

function bytesIpv4(b: Uint8Array | undefined): string {
  const n = bytesUint(b);
  return `${Math.floor(n / 16777216) % 256}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function macBytes(mac: string): Buffer {
  return uintBytes(parseInt(mac.replace(/:/g, ''), 16));
}

function bytesMac(b: Uint8Array | undefined): string {
  const hex = bytesUint(b).toString(16).padStart(12, '0');
  return hex.match(/../g)!.join(':');
}

interface ResolvedTable {
  readonly info: TableInfo;
  readonly fields: Record<string, number>;
}

interface ResolvedAction {
  readonly info: ActionInfo;
  readonly params: Record<string, number>;
}

export class EntityCodec {
  private readonly t: Record<'frontends' | 'backendSelect' | 'backends' | 'reverseNat' | 'routes' | 'egressPorts' | 'sourceRanges', ResolvedTable>;
  private readonly a: Record<'setFrontend' | 'toBackend' | 'restoreFrontend' | 'toPort' | 'toExternal' | 'setSourceMac' | 'allowSource', ResolvedAction>;
  readonly profileId: number;
  private readonly tableKind = new Map<number, keyof EntityCodec['t']>();

  constructor(readonly p4info: P4InfoIndex) {
    const table = (name: string): ResolvedTable => {
      const info = p4info.table(name);
      return { info, fields: Object.fromEntries(info.matchFields.map((f) => [f.name, f.id])) };
    };
    const action = (name: string): ResolvedAction => {
      const info = p4info.action(name);
      return { info, params: Object.fromEntries(info.params.map((p) => [p.name, p.id])) };
    };
    this.t = {
      frontends: table(names.frontends),
      backendSelect: table(names.backendSelect),
      backends: table(names.backends),
      reverseNat: table(names.reverseNat),
      routes: table(names.routes),
      egressPorts: table(names.egressPorts),
      sourceRanges: table(names.sourceRanges),
    };
    this.a = {
      setFrontend: action(names.setFrontend),
      toBackend: action(names.toBackend),
      restoreFrontend: action(names.restoreFrontend),
      toPort: action(names.toPort),
      toExternal: action(names.toExternal),
      setSourceMac: action(names.setSourceMac),
      allowSource: action(names.allowSource),
    };
    this.profileId = p4info.actionProfile(names.selector).id;
    for (const [k, v] of Object.entries(this.t)) this.tableKind.set(v.info.id, k as keyof EntityCodec['t']);
  }

  /** Table sizes and the selector's size from the P4Info. */
  capacity(): Capacity {
    const profile = this.p4info.actionProfile(names.selector);
    return {
      frontend: this.t.frontends.info.size,
      select: this.t.backendSelect.info.size,
      backend: this.t.backends.info.size,
      reverse: this.t.reverseNat.info.size,
      source: this.t.sourceRanges.info.size,
      route: this.t.routes.info.size,
      egress: this.t.egressPorts.info.size,
      member: profile.size,
      // Every group is selected by at least one backend_select entry.
      group: Math.min(profile.size, this.t.backendSelect.info.size),
      maxGroupSize: profile.maxGroupSize > 0 ? profile.maxGroupSize : undefined,
    };
  }

  /** Whether the frontends table matches IPv6 destinations (128-bit dst_addr). */
  get ipv6(): boolean {
    return this.t.frontends.info.matchFields.find((f) => f.name === 'dst_addr')?.bitwidth === 128;
  }

  /** The P4Runtime table name of a controller entity type (metric labels). */
  tableOf(type: Entity['type']): string {
    return { frontend: names.frontends, select: names.backendSelect, backend: names.backends, reverse: names.reverseNat, source: names.sourceRanges, route: names.routes, egress: names.egressPorts, member: `${names.selector}_members`, group: `${names.selector}_groups` }[type];
  }

  /** Wildcard reads for everything the controller owns on the switch. */
  readAll(): P4Entity[] {
    return [
      ...Object.values(this.t).map((t) => ({ table_entry: { table_id: t.info.id } })),
      { action_profile_member: { action_profile_id: this.profileId, member_id: 0 } },
      { action_profile_group: { action_profile_id: this.profileId, group_id: 0 } },
    ];
  }

  encode(e: Entity): P4Entity {
    switch (e.type) {
      case 'frontend': {
        const t = this.t.frontends;
        const a = this.a.setFrontend;
        return this.entry(t, [['dst_addr', ipv4Bytes(e.addr)], ['dst_port', uintBytes(e.port)], ['protocol', uintBytes(protocolNumbers[e.protocol])]], {
          action: { action_id: a.info.id, params: [{ param_id: a.params.frontend_id, value: uintBytes(e.frontendId) }, { param_id: a.params.flags, value: uintBytes(e.flags) }] },
        });
      }
      case 'select':
        return this.entry(this.t.backendSelect, [['frontend_id', uintBytes(e.frontendId)]], { action_profile_group_id: e.groupId });
      case 'backend':
        return this.entry(this.t.backends, [['frontend_id', uintBytes(e.frontendId)], ['backend_id', uintBytes(e.backendId)]], { action: this.toBackend(e.backendId, e.addr, e.port) });
      case 'reverse': {
        const a = this.a.restoreFrontend;
        return this.entry(this.t.reverseNat, [['frontend_id', uintBytes(e.frontendId)]], {
          action: { action_id: a.info.id, params: [{ param_id: a.params.addr, value: ipv4Bytes(e.addr) }, { param_id: a.params.port, value: uintBytes(e.port) }] },
        });
      }
      case 'route': {
        const t = this.t.routes;
        const a = e.action === 'to_port' ? this.a.toPort : this.a.toExternal;
        return {
          table_entry: {
            table_id: t.info.id,
            match: [{ field_id: t.fields.dst_addr, lpm: { value: ipv4Bytes(e.prefix), prefix_len: e.prefixLen } }],
            action: { action: { action_id: a.info.id, params: [{ param_id: a.params.port, value: uintBytes(e.port) }, { param_id: a.params.dst_mac, value: macBytes(e.mac) }] } },
          },
        };
      }
      case 'source': {
        const t = this.t.sourceRanges;
        return {
          table_entry: {
            table_id: t.info.id,
            match: [
              { field_id: t.fields.frontend_id, exact: { value: uintBytes(e.frontendId) } },
              { field_id: t.fields.src_addr, lpm: { value: ipv4Bytes(e.prefix), prefix_len: e.prefixLen } },
            ],
            action: { action: { action_id: this.a.allowSource.info.id, params: [] } },
          },
        };
      }
      case 'egress': {
        const a = this.a.setSourceMac;
        return this.entry(this.t.egressPorts, [['port', uintBytes(e.port)]], { action: { action_id: a.info.id, params: [{ param_id: a.params.mac, value: macBytes(e.mac) }] } });
      }
      case 'member':
        return { action_profile_member: { action_profile_id: this.profileId, member_id: e.memberId, action: this.toBackend(e.backendId, e.addr, e.port) } };
      case 'group':
        return { action_profile_group: { action_profile_id: this.profileId, group_id: e.groupId, members: e.members.map((m) => ({ member_id: m, weight: 1 })) } };
    }
  }

  /** The controller entity a read-back P4 entity stands for; undefined for what the controller never writes. */
  decode(p: P4Entity): Entity | undefined {
    if (p.action_profile_member) {
      const m = p.action_profile_member;
      if (m.action_profile_id !== this.profileId || !m.action) return undefined;
      const b = this.decodeToBackend(m.action);
      return b && { type: 'member', memberId: m.member_id, ...b };
    }
    if (p.action_profile_group) {
      const g = p.action_profile_group;
      if (g.action_profile_id !== this.profileId) return undefined;
      return { type: 'group', groupId: g.group_id, members: (g.members ?? []).map((m) => m.member_id).sort((a, b) => a - b) };
    }
    const te = p.table_entry;
    if (!te) return undefined;
    const kind = this.tableKind.get(te.table_id);
    if (!kind) return undefined;
    const t = this.t[kind];
    const field = (name: string) => te.match?.find((m) => m.field_id === t.fields[name]);
    const exact = (name: string) => field(name)?.exact?.value;
    const action = te.action?.action ?? undefined;
    const param = (name: string, a: ResolvedAction) => action?.params?.find((x) => x.param_id === a.params[name])?.value;
    switch (kind) {
      case 'frontends': {
        const protocol = protocolByNumber.get(bytesUint(exact('protocol')));
        if (!protocol || action?.action_id !== this.a.setFrontend.info.id) return undefined;
        return {
          type: 'frontend',
          addr: bytesIpv4(exact('dst_addr')),
          port: bytesUint(exact('dst_port')),
          protocol,
          frontendId: bytesUint(param('frontend_id', this.a.setFrontend)),
          flags: bytesUint(param('flags', this.a.setFrontend)),
        };
      }
      case 'backendSelect': {
        const gid = te.action?.action_profile_group_id;
        if (te.action?.type !== undefined && te.action.type !== 'action_profile_group_id') return undefined;
        if (!gid) return undefined;
        return { type: 'select', frontendId: bytesUint(exact('frontend_id')), groupId: gid };
      }
      case 'backends': {
        const b = action && this.decodeToBackend(action);
        return b && { type: 'backend', frontendId: bytesUint(exact('frontend_id')), ...b };
      }
      case 'reverseNat':
        if (action?.action_id !== this.a.restoreFrontend.info.id) return undefined;
        return { type: 'reverse', frontendId: bytesUint(exact('frontend_id')), addr: bytesIpv4(param('addr', this.a.restoreFrontend)), port: bytesUint(param('port', this.a.restoreFrontend)) };
      case 'routes': {
        const lpm = field('dst_addr')?.lpm;
        const which = action?.action_id === this.a.toPort.info.id ? this.a.toPort : action?.action_id === this.a.toExternal.info.id ? this.a.toExternal : undefined;
        if (!lpm || !which) return undefined;
        return {
          type: 'route',
          prefix: bytesIpv4(lpm.value),
          prefixLen: lpm.prefix_len,
          action: which === this.a.toPort ? 'to_port' : 'to_external',
          port: bytesUint(param('port', which)),
          mac: bytesMac(param('dst_mac', which)),
        };
      }
      case 'sourceRanges': {
        const lpm = field('src_addr')?.lpm;
        if (!lpm || action?.action_id !== this.a.allowSource.info.id) return undefined;
        return { type: 'source', frontendId: bytesUint(exact('frontend_id')), prefix: bytesIpv4(lpm.value), prefixLen: lpm.prefix_len };
      }
      case 'egressPorts':
        if (action?.action_id !== this.a.setSourceMac.info.id) return undefined;
        return { type: 'egress', port: bytesUint(exact('port')), mac: bytesMac(param('mac', this.a.setSourceMac)) };
    }
  }

  private entry(t: ResolvedTable, match: [string, Buffer][], action: NonNullable<TableEntry['action']>): P4Entity {
    return { table_entry: { table_id: t.info.id, match: match.map(([name, value]) => ({ field_id: t.fields[name], exact: { value } })), action } };
  }

  private toBackend(backendId: number, addr: string, port: number) {
    const a = this.a.toBackend;
    return {
      action_id: a.info.id,
      params: [
        { param_id: a.params.backend_id, value: uintBytes(backendId) },
        { param_id: a.params.addr, value: ipv4Bytes(addr) },
        { param_id: a.params.port, value: uintBytes(port) },
      ],
    };
  }

  private decodeToBackend(action: { action_id: number; params?: { param_id: number; value: Buffer }[] }): { backendId: number; addr: string; port: number } | undefined {
    const a = this.a.toBackend;
    if (action.action_id !== a.info.id) return undefined;
    const p = (name: string) => action.params?.find((x) => x.param_id === a.params[name])?.value;
    return { backendId: bytesUint(p('backend_id')), addr: bytesIpv4(p('addr')), port: bytesUint(p('port')) };
  }
}
