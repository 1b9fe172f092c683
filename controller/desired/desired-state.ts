// Services + EndpointSlices + Nodes -> every P4 entity talaria.p4 should
// hold. The computation is whole-state (like kube-proxy's nftables proxier),
// but results are cached per Service and reused when none of its inputs
// changed, so a single endpoint change with 10,000 Services recomputes one
// Service. Ids are allocated here (stable, adopted from the switch).
import type { EndpointInfo, EndpointsByPort } from '../../proxy/endpoints.js';
import { selectableEndpoints } from '../../proxy/endpoints.js';
import type { Problem, ProblemReason } from '../../proxy/problem.js';
import type { ServicePortsResult } from '../../proxy/service-port.js';
import { zeroCounts, type Capacity, type Counts } from './capacity.js';
import type { BackendEntity, EgressPortEntity, Entity, FrontendEntity, GroupEntity, MemberEntity, RouteEntity } from './entities.js';
import { FLAG_AFFINITY_CLIENT_IP, FLAG_REJECT, FLAG_SOURCE_RANGES } from './flags.js';
import { AdoptionHints, IdAllocator, MAX_ID } from './id-allocator.js';
import { LOOKUP_MEMBER_ID_MIN, LOOKUP_SLOTS, isLookupGroup, lookupSlots } from './lookup-groups.js';
import { frontendCandidates, ownsBefore, type FrontendKind, type NodePortAddresses } from '../../proxy/frontends.js';
import type { ExternalRoute, NodeInfo, PortMac } from './nodes.js';

/** The owner of the switch's wiring (routes, egress ports) in DesiredState.byOwner (Services are "namespace/name"). */
export const WIRING_OWNER = '';

/** What wires the switch (routes to nodes and outside, the ports' source MACs), owned by no Service. */
type WiringEntity = RouteEntity | EgressPortEntity;
const isWiring = (k: keyof Counts): k is WiringEntity['type'] => k === 'route' || k === 'egress';
function wiringCounts(wiring: readonly WiringEntity[]): Pick<Counts, WiringEntity['type']> {
  let route = 0;
  for (const e of wiring) if (e.type === 'route') route++;
  return { route, egress: wiring.length - route };
}

export interface EndpointsResult {
  readonly endpoints: EndpointsByPort;
  readonly problems: readonly Problem[];
}

export interface DesiredInput {
  /** Service "namespace/name" -> its ports (from servicePortsFromService). */
  readonly services: ReadonlyMap<string, ServicePortsResult>;
  /** Service "namespace/name" -> its endpoints (from endpointsFromSlices). */
  readonly endpoints: ReadonlyMap<string, EndpointsResult>;
  readonly nodes: readonly NodeInfo[];
  readonly externalRoutes: readonly ExternalRoute[];
  /** The switch ports' own MACs (--port-mac). */
  readonly portMacs?: readonly PortMac[];
}

/**
 * What the switch holds, as admission sees it: the syncer's mirror of the
 * switch (read back after every (re)connect), so that a restarted or new
 * leader keeps the Services that are installed rather than those that sort first.
 */
export interface OnSwitch {
  has(entity: Entity): boolean;
}
const NOTHING_ON_SWITCH: OnSwitch = { has: () => false };

/** What changed since the previous compute (from the change trackers). */
export interface ComputeHint {
  /** Services whose Service object or EndpointSlices changed. */
  readonly dirty: Iterable<string>;
  readonly servicesChanged: boolean;
  readonly nodesChanged: boolean;
}

export interface DesiredState {
  /**
   * Owner ("namespace/name", or ROUTES_OWNER) -> its entities. Services not
   * programmed at all are absent. A live view: valid until the next compute.
   */
  readonly byOwner: ReadonlyMap<string, readonly Entity[]>;
  /** Owners whose entity list changed in this compute, with the list before (undefined: had none). */
  readonly changed: ReadonlyMap<string, readonly Entity[] | undefined>;
  /** Everything not programmed, named by Service and field. */
  readonly problems: readonly Problem[];
  /** Services with at least one problem, per reason. */
  readonly unprogrammed: Readonly<Record<ProblemReason, number>>;
  /** Entities per kind in byOwner. */
  readonly counts: Counts;
}

interface ServiceResult {
  readonly entities: readonly Entity[];
  readonly counts: Counts;
  readonly backendKeys: readonly string[];
  readonly groupKeys: readonly string[];
  readonly frontendKeys: readonly string[];
  readonly lookupMemberKeys: readonly string[];
  readonly problems: readonly Problem[];
}

interface CacheEntry {
  readonly ports: ServicePortsResult | undefined;
  readonly endpoints: EndpointsResult | undefined;
  readonly nodes: readonly NodeInfo[];
  readonly won: string;
  readonly result: ServiceResult;
}

export interface DesiredStateOptions {
  readonly capacity: Capacity;
  /** True for ids the switch holds (never handed out fresh). */
  readonly busy?: { frontend(id: number): boolean; backend(id: number): boolean; group(id: number): boolean; member(id: number): boolean };
  /** False when the pipeline matches 32-bit addresses only (talaria.p4 today): IPv6 is reported, not programmed. */
  readonly ipv6?: boolean;
  /** kube-proxy's --nodeport-addresses: the node addresses NodePorts answer on (empty: every InternalIP). */
  readonly nodePortAddresses?: NodePortAddresses;
}

export class DesiredStateComputer {
  readonly frontendIds: IdAllocator;
  readonly backendIds: IdAllocator;
  readonly groupIds: IdAllocator;
  /** Members that act as slots of lookup groups (lookup-groups.ts); plain members are their backend's id. */
  readonly lookupMemberIds: IdAllocator;
  private hints = new AdoptionHints();
  private readonly cache = new Map<string, CacheEntry>();
  /** Lookup group key -> the backend of each slot, as last computed (lookupSlots moves as few as it can from there). */
  private readonly lookupAssignments = new Map<string, readonly number[]>();
  /** Frontend key -> the Services asking for it -> the field of their first claim. */
  private readonly claimants = new Map<string, Map<string, string>>();
  private readonly claimsOf = new Map<string, string[]>();
  /** The ServicePortsResult each Service's claims were registered from. */
  private readonly serviceVersions = new Map<string, ServicePortsResult>();
  private readonly serviceVersionsView: ReadonlyMap<string, ServicePortsResult> = this.serviceVersions;
  private conflictNodes: readonly NodeInfo[] | undefined;
  private won = new Map<string, Set<string>>();
  private wonSig = new Map<string, string>();
  private conflictProblems = new Map<string, Problem[]>();
  private order: string[] = [];
  private readonly byOwner = new Map<string, readonly Entity[]>();
  private readonly totals: Counts = zeroCounts();
  private allAdmitted = true;
  private readonly problemServices = new Set<string>();
  private rejected: string[] = [];
  private computed = false;
  private lastNodes: readonly NodeInfo[] | undefined;
  private wiringCache: { nodes: readonly NodeInfo[]; external: readonly ExternalRoute[]; portMacs: readonly PortMac[] | undefined; wiring: WiringEntity[] } | undefined;

  constructor(private readonly opts: DesiredStateOptions) {
    this.frontendIds = new IdAllocator('frontend_id', opts.busy?.frontend);
    this.backendIds = new IdAllocator('backend_id', opts.busy?.backend, LOOKUP_MEMBER_ID_MIN - 1);
    this.groupIds = new IdAllocator('group_id', opts.busy?.group);
    this.lookupMemberIds = new IdAllocator('lookup member_id', opts.busy?.member, MAX_ID, LOOKUP_MEMBER_ID_MIN);
  }

  /** Adopts the ids of what the switch holds (call with the read-back entities before the first compute). */
  adopt(installed: Iterable<Entity>): void {
    const list = [...installed];
    this.hints = AdoptionHints.fromEntities(list);
    // Ids only move forward: a backend_id deleted before a restart may still be pinned on hosts.
    for (const e of list) {
      if ('frontendId' in e) this.frontendIds.advancePast(e.frontendId);
      if (e.type === 'backend' || e.type === 'member') this.backendIds.advancePast(e.backendId);
      if (e.type === 'member') this.lookupMemberIds.advancePast(e.memberId);
      if (e.type === 'group' || e.type === 'select') this.groupIds.advancePast(e.groupId);
    }
  }

  /**
   * The desired state. onSwitch: what the switch holds now; when capacity
   * runs short, Services with a frontend there keep their place and the
   * others are left out (in namespace/name order). hint: what changed since
   * the previous compute (from the change trackers); without it every
   * Service's inputs are compared (a full sync).
   */
  compute(input: DesiredInput, onSwitch: OnSwitch = NOTHING_ON_SWITCH, hint?: ComputeHint): DesiredState {
    const incremental = hint !== undefined && !hint.nodesChanged && this.computed && this.lastNodes === input.nodes;
    const sigChanged = this.resolveConflicts(input, incremental ? hint : undefined);
    const changedOwners = new Map<string, readonly Entity[] | undefined>();
    const touched = incremental ? new Set([...hint.dirty, ...sigChanged]) : this.order;
    for (const name of touched) {
      const ports = input.services.get(name);
      const cached = this.cache.get(name);
      if (ports === undefined) {
        if (cached) {
          this.releaseDropped(cached.result, undefined);
          this.cache.delete(name);
          this.retotal(cached.result, undefined);
          this.problemServices.delete(name);
        }
        continue;
      }
      const endpoints = input.endpoints.get(name);
      const won = this.wonSig.get(name) ?? '';
      if (cached && cached.ports === ports && cached.endpoints === endpoints && cached.nodes === input.nodes && cached.won === won) continue;
      const result = this.computeService(name, ports, endpoints, input.nodes);
      if (cached) this.releaseDropped(cached.result, result);
      this.cache.set(name, { ports, endpoints, nodes: input.nodes, won, result });
      this.retotal(cached?.result, result);
      if (result.problems.length > 0) this.problemServices.add(name);
      else this.problemServices.delete(name);
    }
    if (!incremental && this.cache.size > this.order.length) {
      // Services that disappeared: release their ids (the allocator's busy check keeps
      // ids that are still installed from being reused).
      for (const [name, entry] of this.cache) {
        if (input.services.has(name)) continue;
        this.releaseDropped(entry.result, undefined);
        this.cache.delete(name);
        this.retotal(entry.result, undefined);
        this.problemServices.delete(name);
      }
    }
    this.lastNodes = input.nodes;
    this.computed = true;

    const wiring = this.wiring(input);
    if (this.byOwner.get(WIRING_OWNER) !== wiring) {
      changedOwners.set(WIRING_OWNER, this.byOwner.get(WIRING_OWNER));
      this.byOwner.set(WIRING_OWNER, wiring);
    }
    const cap = this.opts.capacity;
    const all = this.totals;
    const wired = wiringCounts(wiring);
    const everythingFits = (Object.keys(all) as (keyof Counts)[]).every((k) => (isWiring(k) ? wired[k] : all[k]) <= cap[k]);
    let rejected: string[] = [];
    if (everythingFits && this.allAdmitted && incremental) {
      // Fast path: every Service is admitted; only the touched ones can have changed.
      for (const name of touched) {
        const before = this.byOwner.get(name);
        const r = this.cache.get(name)?.result;
        const after = r && r.entities.length > 0 ? r.entities : undefined;
        if (before === after) continue;
        changedOwners.set(name, before);
        if (after) this.byOwner.set(name, after);
        else this.byOwner.delete(name);
      }
    } else {
      rejected = this.admit(onSwitch, wiring, changedOwners);
    }
    this.allAdmitted = rejected.length === 0;
    this.rejected = rejected;

    const counts = this.admittedCounts(wiring);
    const problems: Problem[] = [];
    const withProblems = new Set([...this.problemServices, ...this.conflictProblems.keys()]);
    for (const name of [...withProblems].sort()) {
      const conflicts = this.conflictProblems.get(name);
      if (conflicts) problems.push(...conflicts);
      const r = this.cache.get(name)?.result;
      if (r && r.problems.length > 0) problems.push(...r.problems);
    }
    for (const name of rejected) {
      const r = this.cache.get(name)!.result;
      const need = (Object.keys(r.counts) as (keyof Counts)[])
        .filter((k) => r.counts[k] > 0 && counts[k] + r.counts[k] > cap[k])
        .map((k) => `${tableName[k]} needs ${r.counts[k]}, ${Math.max(0, cap[k] - counts[k])} of ${cap[k]} free`);
      problems.push({ service: name, field: 'spec', reason: 'capacity', message: `not programmed: the switch is full (${need.join('; ')})` });
    }
    const unprogrammed: Record<ProblemReason, number> = { invalid: 0, conflict: 0, unsupported: 0, capacity: 0 };
    const seen = new Set<string>();
    for (const p of problems) {
      const k = `${p.reason} ${p.service}`;
      if (seen.has(k)) continue;
      seen.add(k);
      unprogrammed[p.reason]++;
    }
    return { byOwner: this.byOwner, changed: changedOwners, problems, unprogrammed, counts };
  }

  /** Entities per kind of everything admitted (routes included). */
  private admittedCounts(wiring: readonly WiringEntity[]): Counts {
    const c = { ...this.totals, ...wiringCounts(wiring) };
    for (const name of this.rejected) {
      const r = this.cache.get(name)!.result.counts;
      for (const k of Object.keys(c) as (keyof Counts)[]) if (!isWiring(k)) c[k] -= r[k];
    }
    return c;
  }

  private retotal(before: ServiceResult | undefined, after: ServiceResult | undefined): void {
    const t = this.totals;
    for (const k of Object.keys(t) as (keyof Counts)[]) {
      if (isWiring(k)) continue;
      t[k] += (after?.counts[k] ?? 0) - (before?.counts[k] ?? 0);
    }
  }

  /**
   * The capacity pass over every Service: those already on the switch first,
   * then the others, each group in namespace/name order; a Service is
   * admitted whole or not at all. Returns the rejected ones (sorted).
   */
  private admit(onSwitch: OnSwitch, wiring: readonly WiringEntity[], changedOwners: Map<string, readonly Entity[] | undefined>): string[] {
    const cap = this.opts.capacity;
    const counts = { ...zeroCounts(), ...wiringCounts(wiring) };
    const fits = (c: Counts): boolean =>
      counts.frontend + c.frontend <= cap.frontend &&
      counts.select + c.select <= cap.select &&
      counts.member + c.member <= cap.member &&
      counts.group + c.group <= cap.group &&
      counts.backend + c.backend <= cap.backend &&
      counts.reverse + c.reverse <= cap.reverse &&
      counts.source + c.source <= cap.source;
    const rejected: string[] = [];
    const admitted = new Map<string, readonly Entity[]>();
    const installed = new Set(this.order.filter((name) => this.cache.get(name)!.result.entities.some((e) => e.type === 'frontend' && onSwitch.has(e))));
    for (const pass of [true, false]) {
      for (const name of this.order) {
        if (installed.has(name) !== pass) continue;
        const r = this.cache.get(name)!.result;
        if (!fits(r.counts)) {
          rejected.push(name);
          continue;
        }
        const c = r.counts;
        counts.frontend += c.frontend;
        counts.select += c.select;
        counts.member += c.member;
        counts.group += c.group;
        counts.backend += c.backend;
        counts.reverse += c.reverse;
        counts.source += c.source;
        if (r.entities.length > 0) admitted.set(name, r.entities);
      }
    }
    for (const [name, before] of this.byOwner) {
      if (name === WIRING_OWNER) continue;
      if (admitted.get(name) !== before) changedOwners.set(name, before);
    }
    for (const name of admitted.keys()) if (!this.byOwner.has(name)) changedOwners.set(name, undefined);
    const wiringList = this.byOwner.get(WIRING_OWNER);
    this.byOwner.clear();
    if (wiringList) this.byOwner.set(WIRING_OWNER, wiringList);
    for (const [name, list] of admitted) this.byOwner.set(name, list);
    return rejected.sort();
  }

  /**
   * Which Service owns each frontend: the older Service (then
   * namespace/name) wins; within one Service the first port asking for it.
   * Incremental: only the frontends the changed Services claimed before or
   * claim now are re-decided. Returns the Services whose won set changed.
   */
  private resolveConflicts(input: DesiredInput, hint: ComputeHint | undefined): Set<string> {
    const full = hint === undefined || hint.nodesChanged || this.conflictNodes !== input.nodes;
    if (!full && !hint.servicesChanged) return new Set();
    let toEvaluate: Iterable<string>;
    if (full) {
      this.claimants.clear();
      this.claimsOf.clear();
      this.serviceVersions.clear();
      for (const [name, r] of input.services) this.register(name, r, input.nodes);
      this.order = [...input.services.keys()].sort();
      toEvaluate = new Set([...this.order, ...this.won.keys()]);
    } else {
      const evaluate = new Set<string>();
      for (const name of hint.dirty) {
        const r = input.services.get(name);
        if (r === this.serviceVersions.get(name)) continue; // an endpoint-only change
        evaluate.add(name);
        for (const key of this.claimsOf.get(name) ?? []) {
          const c = this.claimants.get(key);
          c?.delete(name);
          if (c && c.size === 0) this.claimants.delete(key);
          for (const other of c?.keys() ?? []) evaluate.add(other);
        }
        this.claimsOf.delete(name);
        const had = this.serviceVersions.delete(name);
        if (r) {
          for (const key of this.register(name, r, input.nodes)) for (const other of this.claimants.get(key)!.keys()) evaluate.add(other);
          if (!had) this.order.splice(lowerBound(this.order, name), 0, name);
        } else if (had) {
          this.order.splice(lowerBound(this.order, name), 1);
        }
      }
      toEvaluate = evaluate;
    }
    this.conflictNodes = input.nodes;
    const changed = new Set<string>();
    for (const name of toEvaluate) {
      const r = input.services.get(name);
      const before = this.wonSig.get(name);
      if (!r) {
        this.won.delete(name);
        this.wonSig.delete(name);
        this.conflictProblems.delete(name);
        if (before !== undefined) changed.add(name);
        continue;
      }
      const { mine, problems } = this.evaluate(name, r, input.nodes);
      this.won.set(name, mine);
      const sig = [...mine].join(';');
      this.wonSig.set(name, sig);
      if (problems.length > 0) this.conflictProblems.set(name, problems);
      else this.conflictProblems.delete(name);
      if (before !== sig) changed.add(name);
    }
    return changed;
  }

  /** Records the frontends a Service asks for; returns their keys. */
  private register(name: string, r: ServicePortsResult, nodes: readonly NodeInfo[]): string[] {
    const keys: string[] = [];
    for (const sp of r.ports) {
      for (const c of frontendCandidates(sp, nodes, this.opts.nodePortAddresses)) {
        if (!this.familyOk(c.addr)) continue;
        let m = this.claimants.get(c.key);
        if (!m) this.claimants.set(c.key, (m = new Map()));
        if (!m.has(name)) {
          m.set(name, c.field);
          keys.push(c.key);
        }
      }
    }
    this.claimsOf.set(name, keys);
    this.serviceVersions.set(name, r);
    return keys;
  }

  /** The Service that owns a frontend: the oldest claimant, then by namespace/name. */
  private winner(key: string, services: ReadonlyMap<string, ServicePortsResult>): string {
    let best: { name: string; createdAt: string } | undefined;
    for (const name of this.claimants.get(key)!.keys()) {
      const claim = { name, createdAt: services.get(name)?.ports[0]?.createdAt ?? '' };
      if (!best || ownsBefore(claim, best)) best = claim;
    }
    return best!.name;
  }

  private evaluate(name: string, r: ServicePortsResult, nodes: readonly NodeInfo[]): { mine: Set<string>; problems: Problem[] } {
    const services = this.serviceVersionsView;
    const mine = new Set<string>();
    const taken = new Set<string>();
    const reported = new Set<string>();
    const problems: Problem[] = [];
    for (const sp of r.ports) {
      for (const c of frontendCandidates(sp, nodes, this.opts.nodePortAddresses)) {
        if (!this.familyOk(c.addr)) continue;
        const owner = this.winner(c.key, services);
        if (owner === name && !taken.has(c.key)) {
          taken.add(c.key);
          mine.add(`${sp.key} ${c.key}`);
          continue;
        }
        const ownerField = this.claimants.get(c.key)!.get(owner)!;
        const tag = `${c.field} ${owner} ${ownerField}`;
        if (reported.has(tag)) continue;
        reported.add(tag);
        const whose = owner === name ? `this Service's ${ownerField}` : `Service ${owner} (${ownerField}, created earlier)`;
        problems.push({ service: name, field: c.field, reason: 'conflict', message: `frontend ${c.addr}:${c.port}/${sp.protocol} is already used by ${whose}; not programmed` });
      }
    }
    return { mine, problems };
  }

  private computeService(name: string, ports: ServicePortsResult | undefined, eps: EndpointsResult | undefined, nodes: readonly NodeInfo[]): ServiceResult {
    const entities: Entity[] = [];
    const problems: Problem[] = [...(ports?.problems ?? []), ...(eps?.problems ?? [])];
    const backendKeys: string[] = [];
    const groupKeys: string[] = [];
    const frontendKeys: string[] = [];
    const lookupMemberKeys: string[] = [];
    const won = this.won.get(name) ?? new Set<string>();
    const maxGroup = this.opts.capacity.maxGroupSize ?? Infinity;
    for (const sp of ports?.ports ?? []) {
      const frontends = frontendCandidates(sp, nodes, this.opts.nodePortAddresses).filter((c) => won.has(`${sp.key} ${c.key}`));
      let endpoints = eps?.endpoints.get(sp.key) ?? [];
      const v6 = [...frontendCandidates(sp, nodes, this.opts.nodePortAddresses).map((c) => c.addr), ...endpoints.map((e) => e.addr)].filter((a) => !this.familyOk(a));
      if (v6.length > 0) {
        problems.push({ service: name, field: `spec.ports[${sp.portIndex}]`, reason: 'unsupported', message: `IPv6 is not supported by the switch pipeline; not programmed: ${[...new Set(v6)].slice(0, 4).join(', ')}` });
        endpoints = endpoints.filter((e) => this.familyOk(e.addr));
      }
      if (frontends.length === 0) continue;
      const backendId = new Map<EndpointInfo, number>();
      for (const e of endpoints) {
        const key = `${sp.key}|${e.addr}|${e.port}`;
        let hint: number | undefined;
        for (const f of frontends) {
          hint = this.hints.backend.get(`${f.key}|${e.addr}|${e.port}`);
          if (hint !== undefined) break;
        }
        backendId.set(e, this.backendIds.allocate(key, hint));
        backendKeys.push(key);
      }
      const members = new Map<number, MemberEntity>();
      const groups = new Map<string, GroupEntity>();
      const groupFor = (groupKey: string, selected: EndpointInfo[], hintFrontend: string, kinds: readonly FrontendKind[]): number | undefined => {
        if (selected.length === 0) return undefined;
        const existing = groups.get(groupKey);
        if (existing) return existing.groupId;
        let ids = selected.map((e) => backendId.get(e)!).sort((a, b) => a - b);
        if (ids.length > maxGroup) {
          problems.push({ service: name, field: `spec.ports[${sp.portIndex}]`, reason: 'capacity', message: `${ids.length} endpoints, the switch selects among at most ${maxGroup}; the lowest backend ids are used` });
          ids = ids.slice(0, maxGroup);
        }
        const groupId = this.groupIds.allocate(groupKey, this.hints.group.get(hintFrontend));
        groupKeys.push(groupKey);
        if (LOOKUP_SLOTS <= maxGroup && isLookupGroup(kinds, ids.length)) {
          groups.set(groupKey, { type: 'group', groupId, members: this.lookupMembers(groupKey, groupId, ids, selected, backendId, members, lookupMemberKeys) });
          return groupId;
        }
        for (const e of selected) {
          const id = backendId.get(e)!;
          if (ids.includes(id) && !members.has(id)) members.set(id, { type: 'member', memberId: id, backendId: id, addr: e.addr, port: e.port });
        }
        groups.set(groupKey, { type: 'group', groupId, members: ids });
        return groupId;
      };
      const clusterSelected = selectableEndpoints(endpoints);
      // The kinds of frontend that share the group of all endpoints (a lookup group if any is reached from outside).
      const clusterKinds = frontends.filter((f) => !(f.kind === 'nodeport' && sp.externalTrafficLocal)).map((f) => f.kind);
      const tables: Entity[] = [];
      for (const f of frontends) {
        const frontendId = this.frontendIds.allocate(f.key, this.hints.frontend.get(f.key));
        frontendKeys.push(f.key);
        let flags = 0;
        if (sp.affinityTimeoutSeconds !== undefined) flags |= FLAG_AFFINITY_CLIENT_IP;
        let groupId: number | undefined;
        if (f.kind === 'nodeport' && sp.externalTrafficLocal) {
          groupId = groupFor(`${sp.key}@${f.node}`, selectableEndpoints(endpoints.filter((e) => e.nodeName === f.node)), f.key, [f.kind]);
        } else {
          groupId = groupFor(sp.key, clusterSelected, f.key, clusterKinds);
        }
        if (groupId === undefined) flags |= FLAG_REJECT;
        // kube-proxy's firewall exists only while there are endpoints: without
        // them every source gets the reject.
        const ranges = f.kind === 'loadbalancer' && groupId !== undefined ? sp.sourceRanges[f.addr.includes(':') ? 6 : 4] : undefined;
        if (ranges) {
          flags |= FLAG_SOURCE_RANGES;
          for (const c of ranges) tables.push({ type: 'source', frontendId, prefix: c.ip, prefixLen: c.prefixLen });
        }
        const fe: FrontendEntity = { type: 'frontend', addr: f.addr, port: f.port, protocol: sp.protocol, frontendId, flags };
        tables.push(fe);
        if (groupId !== undefined) tables.push({ type: 'select', frontendId, groupId });
        tables.push({ type: 'reverse', frontendId, addr: f.addr, port: f.port });
        for (const e of endpoints) {
          const b: BackendEntity = { type: 'backend', frontendId, backendId: backendId.get(e)!, addr: e.addr, port: e.port };
          tables.push(b);
        }
      }
      entities.push(...members.values(), ...groups.values(), ...tables);
    }
    const counts = zeroCounts();
    for (const e of entities) counts[e.type]++;
    return { entities, counts, backendKeys, groupKeys, frontendKeys, lookupMemberKeys, problems };
  }

  /**
   * The members of a lookup group (lookup-groups.ts): LOOKUP_SLOTS of them,
   * slot i being the i-th smallest member id, each to_backend of the backend
   * that owns the slot (lookupSlots, from the group's previous assignment:
   * the last one computed, or the switch's after a restart). Slot ids and
   * their backends are adopted from the switch's group, so that a restarted
   * controller modifies nothing.
   */
  private lookupMembers(
    groupKey: string,
    groupId: number,
    ids: readonly number[],
    selected: readonly EndpointInfo[],
    backendId: ReadonlyMap<EndpointInfo, number>,
    members: Map<number, MemberEntity>,
    keys: string[],
  ): number[] {
    const installed = this.hints.groupMembers.get(groupId);
    const adopted = installed?.length === LOOKUP_SLOTS && installed.every((m) => m >= LOOKUP_MEMBER_ID_MIN) ? installed : undefined;
    const slotIds: number[] = [];
    for (let i = 0; i < LOOKUP_SLOTS; i++) {
      const key = `${groupKey}#${i}`;
      keys.push(key);
      slotIds.push(this.lookupMemberIds.allocate(key, adopted?.[i]));
    }
    slotIds.sort((a, b) => a - b);
    const endpointOf = new Map(selected.map((e) => [backendId.get(e)!, e]));
    const previous = this.lookupAssignments.get(groupKey) ?? adopted?.map((m) => this.hints.memberBackend.get(m));
    const assignment = lookupSlots(ids, previous);
    this.lookupAssignments.set(groupKey, assignment);
    assignment.forEach((backend, i) => {
      const e = endpointOf.get(backend)!;
      members.set(slotIds[i]!, { type: 'member', memberId: slotIds[i]!, backendId: backend, addr: e.addr, port: e.port });
    });
    return slotIds;
  }

  private familyOk(addr: string): boolean {
    return this.opts.ipv6 !== false || !addr.includes(':');
  }

  private releaseDropped(old: ServiceResult, now: ServiceResult | undefined): void {
    const keep = (keys: readonly string[] | undefined) => new Set(keys ?? []);
    const b = keep(now?.backendKeys);
    for (const k of old.backendKeys) if (!b.has(k)) this.backendIds.release(k);
    const g = keep(now?.groupKeys);
    for (const k of old.groupKeys) {
      if (g.has(k)) continue;
      this.groupIds.release(k);
      this.lookupAssignments.delete(k);
    }
    const l = keep(now?.lookupMemberKeys);
    for (const k of old.lookupMemberKeys) if (!l.has(k)) this.lookupMemberIds.release(k);
    const f = keep(now?.frontendKeys);
    // A frontend that moved to another Service keeps its id (the key is global).
    for (const k of old.frontendKeys) if (!f.has(k) && !this.claimants.has(k)) this.frontendIds.release(k);
  }

  /** Routes to nodes and outside, and the ports' source MACs: what wires the switch, owned by no Service. */
  private wiring(input: DesiredInput): WiringEntity[] {
    const c = this.wiringCache;
    if (c && c.nodes === input.nodes && c.external === input.externalRoutes && c.portMacs === input.portMacs) return c.wiring;
    const routes = this.computeRoutes(input).slice(0, Math.max(0, this.opts.capacity.route));
    const byPort = new Map<number, EgressPortEntity>();
    for (const p of input.portMacs ?? []) byPort.set(p.port, { type: 'egress', port: p.port, mac: p.mac });
    const egress = [...byPort.values()].sort((a, b) => a.port - b.port).slice(0, Math.max(0, this.opts.capacity.egress));
    const wiring = [...egress, ...routes];
    this.wiringCache = { nodes: input.nodes, external: input.externalRoutes, portMacs: input.portMacs, wiring };
    return wiring;
  }

  private computeRoutes(input: DesiredInput): RouteEntity[] {
    const byPrefix = new Map<string, RouteEntity>();
    const add = (r: RouteEntity): void => {
      const k = `${r.prefix}/${r.prefixLen}`;
      if (!byPrefix.has(k)) byPrefix.set(k, r);
    };
    for (const n of [...input.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (n.switchPort === undefined || n.uplinkMac === undefined) continue;
      for (const c of n.podCIDRs) add({ type: 'route', prefix: c.ip, prefixLen: c.prefixLen, action: 'to_port', port: n.switchPort, mac: n.uplinkMac });
      for (const ip of n.internalIPs) add({ type: 'route', prefix: ip, prefixLen: ip.includes(':') ? 128 : 32, action: 'to_port', port: n.switchPort, mac: n.uplinkMac });
    }
    for (const r of input.externalRoutes) add({ type: 'route', prefix: r.prefix, prefixLen: r.prefixLen, action: 'to_external', port: r.port, mac: r.mac });
    return [...byPrefix.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : a.prefixLen - b.prefixLen));
  }
}

const tableName: Record<keyof Counts, string> = {
  frontend: 'frontends',
  select: 'backend_select',
  member: 'action profile members',
  group: 'action profile groups',
  backend: 'backends',
  reverse: 'reverse_nat',
  source: 'source_ranges',
  route: 'routes',
  egress: 'egress_ports',
};


/** Every frontend a service port asks for, in a fixed order. */
/** Index of the first element >= name in a sorted array. */
function lowerBound(sorted: readonly string[], name: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
