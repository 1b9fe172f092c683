// How many connections of a client outside the cluster change backend when
// a backend joins and leaves a NodePort Service, measured on a switch target
// as the controller programs it (desired state, syncer, P4Runtime): outside
// clients have no Talaria host to pin them, so every packet is selected again
// and only the lookup group (desired/lookup-groups.ts) keeps them in place.
// The same scenario runs on the eBPF switch (controller/softswitch.integration.test.ts)
// and on talaria.p4 in BMv2 (connection-bmv2.test.ts).
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { buildPacket, parsePacket } from '../../bpf/testing/packet-builder.js';
import type { ClusterState } from '../cluster-state.js';

export const NODE_IP = '198.18.0.1';
export const NODE_PORT = 30080;
export const OUTSIDE_CLIENT = '203.0.113.9';
/** The switch port that leads to the node (its pod CIDR and address are routed there). */
export const NODE_SWITCH_PORT = 1;
const BACKENDS = ['10.244.1.5', '10.244.1.6', '10.244.1.7'];

export interface DisruptionFigures {
  flows: number;
  /** Adding the third backend: flows it took, and flows that moved between the first two (ideal 0). */
  toNewBackend: number;
  movedBetweenOthers: number;
  /** Removing it again: flows not on it that moved anyway (ideal 0). */
  movedOnRemoval: number;
  /** Flows back on the backend they had before the third came and went. */
  keptOverall: number;
}

export interface ScenarioTarget {
  state: ClusterState;
  /** Programs the switch with the state (a syncer pass). */
  sync(): Promise<void>;
  /** Sends a frame in from outside the cluster; what left towards the node, if anything. */
  send(frame: Buffer): Promise<Buffer | undefined>;
}

function setBackends(state: ClusterState, count: number): void {
  state.onEndpointSlice({
    metadata: { namespace: 'ns', name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080 }],
    endpoints: BACKENDS.slice(0, count).map((a) => ({ addresses: [a], conditions: { ready: true } })),
  } as V1EndpointSlice);
}

async function backendOfEachFlow(t: ScenarioTarget, flows: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < flows; i++) {
    const frame = buildPacket({ ipv4: { src: OUTSIDE_CLIENT, dst: NODE_IP }, tcp: { sport: 20000 + i * 7, dport: NODE_PORT, flags: ['SYN'], seq: 1, payload: 'hello' } });
    const sent = await t.send(frame);
    const dst = sent && parsePacket(sent).ipv4?.dst;
    if (!dst || !BACKENDS.includes(dst)) throw new Error(`flow ${i}: no packet to a backend left the switch`);
    out.push(dst);
  }
  return out;
}

/** Two backends, a third joins, it leaves again: where each of `flows` connections lands each time. */
export async function measureDisruption(t: ScenarioTarget, flows = 60): Promise<DisruptionFigures> {
  t.state.onNode({
    metadata: { name: 'n1', annotations: { 'talaria.io/switch-port': String(NODE_SWITCH_PORT), 'talaria.io/uplink-mac': '02:00:00:00:00:01' } },
    spec: { podCIDR: '10.244.1.0/24' },
    status: { addresses: [{ type: 'InternalIP', address: NODE_IP }] },
  } as V1Node);
  t.state.onService({ metadata: { namespace: 'ns', name: 'web' }, spec: { clusterIP: '10.96.0.10', type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: NODE_PORT }] } } as V1Service);
  setBackends(t.state, 2);
  await t.sync();
  const two = await backendOfEachFlow(t, flows);
  setBackends(t.state, 3);
  await t.sync();
  const three = await backendOfEachFlow(t, flows);
  setBackends(t.state, 2);
  await t.sync();
  const again = await backendOfEachFlow(t, flows);
  const third = BACKENDS[2]!;
  let toNewBackend = 0;
  let movedBetweenOthers = 0;
  let movedOnRemoval = 0;
  let keptOverall = 0;
  for (let i = 0; i < flows; i++) {
    if (three[i] === third) toNewBackend++;
    else if (three[i] !== two[i]) movedBetweenOthers++;
    if (three[i] !== third && again[i] !== three[i]) movedOnRemoval++;
    if (again[i] === two[i]) keptOverall++;
  }
  return { flows, toNewBackend, movedBetweenOthers, movedOnRemoval, keptOverall };
}

/** One line for a test's output. */
export function describeFigures(target: string, f: DisruptionFigures): string {
  return `${target}: ${f.flows} outside flows; a 3rd backend took ${f.toNewBackend}, ${f.movedBetweenOthers} moved between the other two; on its removal ${f.movedOnRemoval} others moved; ${f.keptOverall} back where they started`;
}

/** What both targets must show: the new backend gets flows, and at most a tenth of the others move. */
export function assertMinimalDisruption(target: string, f: DisruptionFigures): void {
  const line = describeFigures(target, f);
  assert.ok(f.toNewBackend > 0, `the new backend gets flows: ${line}`);
  assert.ok(f.movedBetweenOthers <= f.flows * 0.1, line);
  assert.ok(f.movedOnRemoval <= f.flows * 0.1, line);
  assert.ok(f.keptOverall >= f.flows * 0.8, line);
}
