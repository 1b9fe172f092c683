// The controller's view of the cluster, fed by informer events (one line each
// in the handlers) and read by the sync: change trackers per Service for
// service ports and endpoints, and the Nodes. checkpoint() hands the sync a
// DesiredInput whose unchanged parts are the very same objects as last time,
// so the desired-state cache recomputes only what changed.
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { ChangeTracker } from '../proxy/change-tracker.js';
import { endpointsFromSlices, lastChangeTriggerTimeAnnotation, sliceServiceName } from '../proxy/endpoints.js';
import { serviceName, servicePortsFromService, type ProxyFilter, type ServicePortsResult } from '../proxy/service-port.js';
import type { DesiredInput, EndpointsResult } from './desired/desired-state.js';
import { NO_WIRING, nodeInfoFromNode, type NodeInfo, type SwitchWiring } from './desired/nodes.js';

export interface Checkpoint {
  readonly input: DesiredInput;
  /** Services whose ports or endpoints changed, with the time of their first unsynced change (ms). */
  readonly changeTimes: ReadonlyMap<string, number>;
  readonly serviceChanges: number;
  /** Services whose Service object or endpoints changed. */
  readonly dirty: ReadonlySet<string>;
  readonly endpointChanges: number;
  readonly nodesChanged: boolean;
  readonly nodeProblems: readonly string[];
}

export class ClusterState {
  private readonly serviceTracker = new ChangeTracker<ServicePortsResult>();
  private readonly endpointTracker = new ChangeTracker<EndpointsResult>();
  /** Service -> slice name -> slice: the current slices (kube-proxy's EndpointSliceCache). */
  private readonly slices = new Map<string, Map<string, V1EndpointSlice>>();
  private readonly nodeObjects = new Map<string, V1Node>();
  private nodesDirty = true;
  private readonly services = new Map<string, ServicePortsResult>();
  private readonly endpoints = new Map<string, EndpointsResult>();
  private nodes: NodeInfo[] = [];
  private nodeProblems: string[] = [];
  /** Totals since start (kubeproxy_sync_proxy_rules_*_changes_total). */
  serviceChangesTotal = 0;
  endpointChangesTotal = 0;

  constructor(
    private readonly wiring: SwitchWiring = NO_WIRING,
    private readonly filter: ProxyFilter = {},
    private readonly now: () => number = Date.now,
  ) {}

  get pendingServiceChanges(): number {
    return this.serviceTracker.pending;
  }

  get pendingEndpointChanges(): number {
    return this.endpointTracker.pending;
  }

  /** Records a Service add/update (svc) or delete (undefined); true when something is pending. */
  onService(svc: V1Service, deleted = false): boolean {
    const changed = this.serviceTracker.update(serviceName(svc), deleted ? undefined : servicePortsFromService(svc, this.filter), this.now());
    if (changed) this.serviceChangesTotal++;
    return changed;
  }

  onEndpointSlice(slice: V1EndpointSlice, deleted = false): boolean {
    const svc = sliceServiceName(slice);
    if (svc === undefined) return false;
    const name = slice.metadata?.name ?? '';
    let byName = this.slices.get(svc);
    if (deleted) byName?.delete(name);
    else {
      if (!byName) this.slices.set(svc, (byName = new Map()));
      byName.set(name, slice);
    }
    const result = byName && byName.size > 0 ? endpointsFromSlices(svc, byName.values()) : undefined;
    if (byName && byName.size === 0) this.slices.delete(svc);
    const changed = this.endpointTracker.update(svc, result, triggerTime(slice) ?? this.now());
    if (changed) this.endpointChangesTotal++;
    return changed;
  }

  onNode(node: V1Node, deleted = false): boolean {
    const name = node.metadata?.name ?? '';
    const before = this.nodeObjects.get(name);
    if (deleted) this.nodeObjects.delete(name);
    else this.nodeObjects.set(name, node);
    // Nodes change status every few seconds (heartbeats); only what the switch uses counts.
    const relevant = (n: V1Node | undefined) => (n ? JSON.stringify(nodeInfoFromNode(n, this.wiring.nodeSwitchPorts).node) : '');
    if (relevant(before) === relevant(deleted ? undefined : node)) return false;
    this.nodesDirty = true;
    return true;
  }

  /** Takes the pending changes. */
  checkpoint(): Checkpoint {
    const s = this.serviceTracker.checkpoint();
    const e = this.endpointTracker.checkpoint();
    for (const [k, c] of s.changes) {
      if (c.current === undefined) this.services.delete(k);
      else this.services.set(k, c.current);
    }
    for (const [k, c] of e.changes) {
      if (c.current === undefined) this.endpoints.delete(k);
      else this.endpoints.set(k, c.current);
    }
    const nodesChanged = this.nodesDirty;
    if (this.nodesDirty) {
      const parsed = [...this.nodeObjects.values()].map((n) => nodeInfoFromNode(n, this.wiring.nodeSwitchPorts)).sort((a, b) => (a.node.name < b.node.name ? -1 : 1));
      this.nodes = parsed.map((p) => p.node);
      this.nodeProblems = parsed.flatMap((p) => p.problems);
      this.nodesDirty = false;
    }
    const changeTimes = new Map(s.changeTimes);
    for (const [k, t] of e.changeTimes) changeTimes.set(k, Math.min(t, changeTimes.get(k) ?? Infinity));
    return {
      input: { services: this.services, endpoints: this.endpoints, nodes: this.nodes, externalRoutes: this.wiring.externalRoutes, portMacs: this.wiring.portMacs },
      changeTimes,
      dirty: new Set([...s.changes.keys(), ...e.changes.keys()]),
      serviceChanges: s.changes.size,
      endpointChanges: e.changes.size,
      nodesChanged,
      nodeProblems: this.nodeProblems,
    };
  }
}

function triggerTime(slice: V1EndpointSlice): number | undefined {
  const text = slice.metadata?.annotations?.[lastChangeTriggerTimeAnnotation];
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}
