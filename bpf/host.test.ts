// Table-driven packet tests of the host programs (bpf/host.bpf.c) through
// BPF_PROG_TEST_RUN: for every path, the verdict, the packet as the program
// left it (headers, shim, MACs, TTL, checksums) and what it wrote into the
// maps and counters. The object is loaded without pins (nothing to clean up).
// Redirects are not performed under test-run; the verdict says the program
// chose one, the output packet says where it was meant to go.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runProgram, TC_ACT } from './loader/test-run.js';
import { HostDatapath, defaultObjectPath } from '../nodeagent/datapath.js';
import {
  HOST_CONN_F_CLOSING,
  HOST_CONN_F_HAIRPIN,
  HOST_CONN_F_LOCAL_NAT,
  HOST_CONN_F_UNPINNED,
  HOST_DROP_REASONS,
  HOST_EVENTS,
  HOST_HAIRPIN_ADDR,
} from './layouts/host-maps.js';
import type { HostDropReason, HostEvent, HostFlow } from './layouts/host-maps.js';
import { TalariaKind } from './layouts/shim.js';
import { ETH_P_ARP, IP_MF, IPPROTO_TCP, IPPROTO_UDP, buildPacket, describePacket, parsePacket } from './testing/packet-builder.js';
import type { PacketSpec, ParsedPacket } from './testing/packet-builder.js';

import { BACKEND, CLIENT, FE, GW_MAC, LOCAL_EP, REMOTE_POD, SWITCH_MAC, UPLINK_MAC, configureHostNode } from './testing/host-node.js';

const fromPod = { src: CLIENT.mac, dst: GW_MAC };
const fromSwitch = { src: SWITCH_MAC, dst: UPLINK_MAC };
const flow = (saddr: string, daddr: string, sport: number, dport: number, proto = IPPROTO_TCP): HostFlow => ({ saddr, daddr, sport, dport, proto });
const nowNs = (): bigint => process.hrtime.bigint();

let dp: HostDatapath;

function resetMaps(): void {
  for (const m of [dp.conns, dp.replies, dp.affinity]) m.clear();
}

interface Case {
  name: string;
  prog: 'fromPod' | 'fromUplink';
  packet: PacketSpec | Buffer;
  setup?: () => void;
  verdict: number;
  drop?: HostDropReason;
  event?: HostEvent;
  /** Checks on the output packet (parsed) and the maps. */
  check?: (out: ParsedPacket, raw: Buffer) => void;
}

function counters(): { drops: number[]; events: number[] } {
  return {
    drops: HostDatapath.sumCounters(dp.drops, HOST_DROP_REASONS.length),
    events: HostDatapath.sumCounters(dp.events, HOST_EVENTS.length),
  };
}

function runCase(c: Case): void {
  resetMaps();
  c.setup?.();
  const before = counters();
  const input = Buffer.isBuffer(c.packet) ? c.packet : buildPacket(c.packet);
  const res = runProgram(dp.programs[c.prog], input);
  const after = counters();
  const out = res.packet;
  assert.equal(res.verdict, c.verdict, `verdict for ${describePacket(input)} -> ${out.length >= 14 ? describePacket(out) : 'short'}`);
  const dropped = HOST_DROP_REASONS.filter((_, i) => after.drops[i]! > before.drops[i]!);
  assert.deepEqual(dropped, c.drop ? [c.drop] : [], 'drop counters');
  if (c.event) {
    const i = HOST_EVENTS.indexOf(c.event);
    assert.equal(after.events[i]! - before.events[i]!, 1, `event ${c.event}`);
  }
  if (c.verdict === TC_ACT.SHOT) return;
  if (c.verdict === TC_ACT.OK && !c.check) {
    assert.deepEqual(out, input, 'a passed packet is unchanged');
    return;
  }
  c.check?.(parsePacket(out), out);
}

/** Common checks of a packet leaving towards the switch. */
function toSwitch(p: ParsedPacket, kind: number, frontendId: number, backendId: number): void {
  assert.equal(p.eth.src, UPLINK_MAC);
  assert.equal(p.eth.dst, SWITCH_MAC);
  assert.ok(p.ipv4, 'IPv4');
  assert.equal(p.ipv4.ihl, 8);
  assert.deepEqual(p.ipv4.shim, { kind, frontendId, backendId, flags: 0, version: 1 });
  assert.ok(p.ipv4.checksumOk, 'IPv4 header checksum');
  if (p.tcp) assert.ok(p.tcp.checksumOk, 'TCP checksum');
  if (p.udp) assert.ok(p.udp.checksumOk, 'UDP checksum');
}

/** Common checks of a packet delivered to a local pod. */
function toPod(p: ParsedPacket, pod: { mac: string }): void {
  assert.equal(p.eth.dst, pod.mac);
  assert.equal(p.eth.src, GW_MAC);
  assert.ok(p.ipv4, 'IPv4');
  assert.equal(p.ipv4.ihl, 5);
  assert.equal(p.ipv4.shim, undefined);
  assert.ok(p.ipv4.checksumOk, 'IPv4 header checksum');
  if (p.tcp) assert.ok(p.tcp.checksumOk, 'TCP checksum');
  if (p.udp) assert.ok(p.udp.checksumOk, 'UDP checksum');
}

const syn = (dst: { addr: string; port: number }, extra: Partial<PacketSpec> = {}): PacketSpec => ({
  eth: fromPod,
  ipv4: { src: CLIENT.ip, dst: dst.addr, ttl: 64 },
  tcp: { sport: 40000, dport: dst.port, seq: 1000, flags: ['SYN'], window: 64240, payload: 'GET / HTTP/1.1\r\n' },
  ...extra,
});

const cases: Case[] = [
  // ---- from a pod -------------------------------------------------------
  {
    name: 'pod -> frontend, no connection entry: NEW with ids 0, to the switch',
    prog: 'fromPod',
    packet: syn(FE.tcp),
    verdict: TC_ACT.REDIRECT,
    event: 'pod_new',
    check: (p) => {
      toSwitch(p, TalariaKind.NEW, 0, 0);
      assert.equal(p.ipv4!.ttl, 63);
      assert.equal(p.ipv4!.dst, FE.tcp.addr);
      assert.equal(p.tcp!.payload.toString(), 'GET / HTTP/1.1\r\n');
    },
  },
  {
    name: 'pod -> frontend UDP: NEW',
    prog: 'fromPod',
    packet: { eth: fromPod, ipv4: { src: CLIENT.ip, dst: FE.udp.addr }, udp: { sport: 5000, dport: 53, payload: 'query' } },
    verdict: TC_ACT.REDIRECT,
    event: 'pod_new',
    check: (p) => toSwitch(p, TalariaKind.NEW, 0, 0),
  },
  {
    name: 'pod -> frontend with a connection entry: PINNED with its ids, last seen refreshed',
    prog: 'fromPod',
    setup: () => dp.conns.update(flow(CLIENT.ip, FE.tcp.addr, 40000, 80), { last_seen_ns: 1n, frontend_id: 7, backend_id: 9, nat_addr: '0.0.0.0', nat_port: 0, flags: 0 }),
    packet: syn(FE.tcp, { tcp: { sport: 40000, dport: 80, flags: ['ACK'], seq: 1001, ack: 5 } }),
    verdict: TC_ACT.REDIRECT,
    event: 'pod_pinned',
    check: (p) => {
      toSwitch(p, TalariaKind.PINNED, 7, 9);
      assert.ok(dp.conns.get(flow(CLIENT.ip, FE.tcp.addr, 40000, 80)).last_seen_ns > 1n);
    },
  },
  {
    name: 'pod FIN on a pinned connection marks it closing',
    prog: 'fromPod',
    setup: () => dp.conns.update(flow(CLIENT.ip, FE.tcp.addr, 40000, 80), { last_seen_ns: 1n, frontend_id: 7, backend_id: 9, nat_addr: '0.0.0.0', nat_port: 0, flags: 0 }),
    packet: syn(FE.tcp, { tcp: { sport: 40000, dport: 80, flags: ['FIN', 'ACK'], seq: 1001, ack: 5 } }),
    verdict: TC_ACT.REDIRECT,
    event: 'pod_pinned',
    check: (p) => {
      toSwitch(p, TalariaKind.PINNED, 7, 9);
      assert.equal(dp.conns.get(flow(CLIENT.ip, FE.tcp.addr, 40000, 80)).flags, HOST_CONN_F_CLOSING);
    },
  },
  {
    name: 'a SYN reusing the 5-tuple of a closing connection starts afresh (NEW)',
    prog: 'fromPod',
    setup: () => dp.conns.update(flow(CLIENT.ip, FE.tcp.addr, 40000, 80), { last_seen_ns: 1n, frontend_id: 7, backend_id: 9, nat_addr: '0.0.0.0', nat_port: 0, flags: HOST_CONN_F_CLOSING }),
    packet: syn(FE.tcp),
    verdict: TC_ACT.REDIRECT,
    event: 'pod_new',
    check: (p) => {
      toSwitch(p, TalariaKind.NEW, 0, 0);
      // Reset in place (no LRU delete): unpinned, and closing until the switch answers.
      const ct = dp.conns.get(flow(CLIENT.ip, FE.tcp.addr, 40000, 80));
      assert.equal(ct.flags, HOST_CONN_F_UNPINNED | HOST_CONN_F_CLOSING);
      assert.ok(ct.last_seen_ns > 1n);
    },
  },
  {
    name: 'a retransmitted SYN before the switch answered: NEW again, not PINNED to the old backend',
    prog: 'fromPod',
    setup: () => dp.conns.update(flow(CLIENT.ip, FE.tcp.addr, 40000, 80), { last_seen_ns: 1n, frontend_id: 7, backend_id: 9, nat_addr: '0.0.0.0', nat_port: 0, flags: HOST_CONN_F_UNPINNED | HOST_CONN_F_CLOSING }),
    packet: syn(FE.tcp),
    verdict: TC_ACT.REDIRECT,
    event: 'pod_new',
    check: (p) => toSwitch(p, TalariaKind.NEW, 0, 0),
  },
  {
    name: 'ClientIP affinity, live entry: PINNED to the remembered backend',
    prog: 'fromPod',
    setup: () => dp.affinity.update({ client: CLIENT.ip, fe: FE.affinity }, { last_seen_ns: nowNs(), frontend_id: 3, backend_id: 4, nat_addr: '0.0.0.0', nat_port: 0, flags: 0 }),
    packet: syn(FE.affinity),
    verdict: TC_ACT.REDIRECT,
    event: 'pod_affinity',
    check: (p) => toSwitch(p, TalariaKind.PINNED, 3, 4),
  },
  {
    name: 'ClientIP affinity, expired entry: NEW',
    prog: 'fromPod',
    setup: () => dp.affinity.update({ client: CLIENT.ip, fe: FE.affinity }, { last_seen_ns: nowNs() - 200_000_000_000n, frontend_id: 3, backend_id: 4, nat_addr: '0.0.0.0', nat_port: 0, flags: 0 }),
    packet: syn(FE.affinity),
    verdict: TC_ACT.REDIRECT,
    event: 'pod_new',
    check: (p) => toSwitch(p, TalariaKind.NEW, 0, 0),
  },
  {
    name: 'pod -> frontend without endpoints, TCP SYN: RST|ACK back into the pod',
    prog: 'fromPod',
    packet: syn(FE.tcpEmpty),
    verdict: TC_ACT.REDIRECT,
    event: 'pod_reject',
    check: (p, raw) => {
      assert.equal(raw.length, 54);
      assert.equal(p.eth.dst, CLIENT.mac);
      assert.equal(p.eth.src, GW_MAC);
      assert.equal(p.ipv4!.src, FE.tcpEmpty.addr);
      assert.equal(p.ipv4!.dst, CLIENT.ip);
      assert.ok(p.ipv4!.checksumOk);
      assert.deepEqual(p.tcp!.flags, ['RST', 'ACK']);
      assert.equal(p.tcp!.sport, 80);
      assert.equal(p.tcp!.dport, 40000);
      assert.equal(p.tcp!.ack, 1000 + 1 + 16); // SYN + 16 payload bytes
      assert.ok(p.tcp!.checksumOk, 'RST checksum');
    },
  },
  {
    name: 'pod -> frontend without endpoints, TCP ACK: RST with seq = its ack',
    prog: 'fromPod',
    packet: syn(FE.tcpEmpty, { tcp: { sport: 40000, dport: 80, flags: ['ACK'], seq: 1000, ack: 777 } }),
    verdict: TC_ACT.REDIRECT,
    event: 'pod_reject',
    check: (p) => {
      assert.deepEqual(p.tcp!.flags, ['RST']);
      assert.equal(p.tcp!.seq, 777);
      assert.ok(p.tcp!.checksumOk);
    },
  },
  {
    name: 'pod -> frontend without endpoints, TCP RST: dropped, never answered',
    prog: 'fromPod',
    packet: syn(FE.tcpEmpty, { tcp: { sport: 40000, dport: 80, flags: ['RST'] } }),
    verdict: TC_ACT.SHOT,
    drop: 'no_reject',
  },
  {
    name: 'pod -> frontend without endpoints, UDP: ICMP port unreachable quoting the datagram',
    prog: 'fromPod',
    packet: { eth: fromPod, ipv4: { src: CLIENT.ip, dst: FE.udpEmpty.addr, id: 0x4242 }, udp: { sport: 5000, dport: 53, payload: 'a long query payload' } },
    verdict: TC_ACT.REDIRECT,
    event: 'pod_reject',
    check: (p) => {
      assert.equal(p.ipv4!.src, FE.udpEmpty.addr);
      assert.equal(p.ipv4!.dst, CLIENT.ip);
      assert.ok(p.ipv4!.checksumOk);
      assert.equal(p.icmp!.type, 3);
      assert.equal(p.icmp!.code, 3);
      assert.ok(p.icmp!.checksumOk, 'ICMP checksum');
      const quoted = p.icmp!.payload;
      assert.equal(quoted.length, 28);
      assert.equal(quoted.readUInt16BE(4), 0x4242, 'quotes the original IP header');
      assert.equal(quoted.readUInt16BE(20), 5000, 'and its UDP ports');
      assert.equal(quoted.readUInt16BE(22), 53);
    },
  },
  {
    name: 'internalTrafficPolicy=Local: translated here to the local endpoint and delivered',
    prog: 'fromPod',
    packet: syn(FE.local),
    verdict: TC_ACT.REDIRECT,
    event: 'local_nat',
    check: (p) => {
      toPod(p, BACKEND);
      assert.equal(p.ipv4!.dst, LOCAL_EP.addr);
      assert.equal(p.tcp!.dport, LOCAL_EP.port);
      assert.equal(p.ipv4!.src, CLIENT.ip);
      const ct = dp.conns.get(flow(CLIENT.ip, FE.local.addr, 40000, FE.local.port));
      assert.equal(ct.flags, HOST_CONN_F_LOCAL_NAT);
      assert.equal(ct.nat_addr, LOCAL_EP.addr);
      assert.equal(ct.nat_port, LOCAL_EP.port);
      const r = dp.replies.get(flow(CLIENT.ip, LOCAL_EP.addr, 40000, LOCAL_EP.port));
      assert.equal(r.fe_addr, FE.local.addr);
      assert.equal(r.fe_port, FE.local.port);
    },
  },
  {
    name: 'internalTrafficPolicy=Local, reply from the local endpoint: frontend restored, delivered to the client',
    prog: 'fromPod',
    setup: () =>
      dp.replies.update(flow(CLIENT.ip, LOCAL_EP.addr, 40000, LOCAL_EP.port), {
        last_seen_ns: 1n, frontend_id: 0, backend_id: 0, orig_saddr: '0.0.0.0', fe_addr: FE.local.addr, fe_port: FE.local.port, flags: HOST_CONN_F_LOCAL_NAT,
      }),
    packet: { eth: { src: BACKEND.mac, dst: GW_MAC }, ipv4: { src: LOCAL_EP.addr, dst: CLIENT.ip }, tcp: { sport: LOCAL_EP.port, dport: 40000, flags: ['SYN', 'ACK'], seq: 1, ack: 1001 } },
    verdict: TC_ACT.REDIRECT,
    event: 'local_nat_reply',
    check: (p) => {
      toPod(p, CLIENT);
      assert.equal(p.ipv4!.src, FE.local.addr);
      assert.equal(p.tcp!.sport, FE.local.port);
    },
  },
  {
    name: 'internalTrafficPolicy=Local, pod reaching itself: hairpin source',
    prog: 'fromPod',
    packet: { ...syn(FE.local), eth: { src: BACKEND.mac, dst: GW_MAC }, ipv4: { src: BACKEND.ip, dst: FE.local.addr } },
    verdict: TC_ACT.REDIRECT,
    event: 'hairpin',
    check: (p) => {
      toPod(p, BACKEND);
      assert.equal(p.ipv4!.src, HOST_HAIRPIN_ADDR);
      assert.equal(p.ipv4!.dst, LOCAL_EP.addr);
      const r = dp.replies.get(flow(HOST_HAIRPIN_ADDR, LOCAL_EP.addr, 40000, LOCAL_EP.port));
      assert.equal(r.flags, HOST_CONN_F_LOCAL_NAT | HOST_CONN_F_HAIRPIN);
      assert.equal(r.orig_saddr, BACKEND.ip);
    },
  },
  {
    name: 'internalTrafficPolicy=Local without a local endpoint (endpoints elsewhere): dropped like kube-proxy',
    prog: 'fromPod',
    packet: syn(FE.localNone),
    verdict: TC_ACT.SHOT,
    drop: 'no_local_endpoint',
  },
  {
    name: 'backend pod reply on a recorded connection: REPLY with the ids to the switch',
    prog: 'fromPod',
    setup: () =>
      dp.replies.update(flow(REMOTE_POD, BACKEND.ip, 41000, 8080), {
        last_seen_ns: 1n, frontend_id: 21, backend_id: 22, orig_saddr: '0.0.0.0', fe_addr: '0.0.0.0', fe_port: 0, flags: 0,
      }),
    packet: { eth: { src: BACKEND.mac, dst: GW_MAC }, ipv4: { src: BACKEND.ip, dst: REMOTE_POD, ttl: 64 }, tcp: { sport: 8080, dport: 41000, flags: ['SYN', 'ACK'], seq: 9, ack: 1 } },
    verdict: TC_ACT.REDIRECT,
    event: 'pod_reply',
    check: (p) => {
      toSwitch(p, TalariaKind.REPLY, 21, 22);
      assert.equal(p.ipv4!.src, BACKEND.ip);
      assert.equal(p.ipv4!.ttl, 63);
    },
  },
  {
    name: 'backend pod reply on a hairpin connection: destination restored, then REPLY',
    prog: 'fromPod',
    setup: () =>
      dp.replies.update(flow(HOST_HAIRPIN_ADDR, BACKEND.ip, 42000, 8080), {
        last_seen_ns: 1n, frontend_id: 5, backend_id: 6, orig_saddr: BACKEND.ip, fe_addr: '0.0.0.0', fe_port: 0, flags: HOST_CONN_F_HAIRPIN,
      }),
    packet: { eth: { src: BACKEND.mac, dst: GW_MAC }, ipv4: { src: BACKEND.ip, dst: HOST_HAIRPIN_ADDR }, tcp: { sport: 8080, dport: 42000, flags: ['ACK'], seq: 9, ack: 1, payload: 'hello' } },
    verdict: TC_ACT.REDIRECT,
    event: 'pod_reply',
    check: (p) => {
      toSwitch(p, TalariaKind.REPLY, 5, 6);
      assert.equal(p.ipv4!.dst, BACKEND.ip);
    },
  },
  {
    name: 'pod -> remote pod: straight to the uplink, no shim, TTL decremented',
    prog: 'fromPod',
    packet: { eth: fromPod, ipv4: { src: CLIENT.ip, dst: REMOTE_POD, ttl: 64 }, tcp: { sport: 40000, dport: 80, flags: ['SYN'] } },
    verdict: TC_ACT.REDIRECT,
    event: 'pod_remote',
    check: (p) => {
      assert.equal(p.eth.src, UPLINK_MAC);
      assert.equal(p.eth.dst, SWITCH_MAC);
      assert.equal(p.ipv4!.ihl, 5);
      assert.equal(p.ipv4!.ttl, 63);
      assert.ok(p.ipv4!.checksumOk);
      assert.ok(p.tcp!.checksumOk);
    },
  },
  {
    name: 'pod -> local pod: straight into its veth with its MACs',
    prog: 'fromPod',
    packet: { eth: fromPod, ipv4: { src: CLIENT.ip, dst: BACKEND.ip }, icmp: { type: 8, id: 1, seq: 1 } },
    verdict: TC_ACT.REDIRECT,
    event: 'pod_local',
    check: (p) => {
      toPod(p, BACKEND);
      assert.equal(p.ipv4!.ttl, 63);
    },
  },
  {
    name: 'pod -> local pod with TTL 1: the stack answers (time exceeded)',
    prog: 'fromPod',
    packet: { eth: fromPod, ipv4: { src: CLIENT.ip, dst: BACKEND.ip, ttl: 1 }, icmp: { type: 8, id: 1, seq: 1 } },
    verdict: TC_ACT.OK,
    event: 'pass_ttl',
  },
  { name: 'pod -> outside the cluster: normal stack', prog: 'fromPod', packet: { eth: fromPod, ipv4: { src: CLIENT.ip, dst: '8.8.8.8' }, udp: { sport: 1, dport: 53 } }, verdict: TC_ACT.OK, event: 'pass_other' },
  { name: 'IPv6: normal stack', prog: 'fromPod', packet: { eth: fromPod, ipv6: { src: 'fd00::2', dst: 'fd00::3' }, tcp: { sport: 1, dport: 80, flags: ['SYN'] } }, verdict: TC_ACT.OK, event: 'pass_not_ipv4' },
  { name: 'ARP: normal stack', prog: 'fromPod', packet: { eth: { ...fromPod, type: ETH_P_ARP }, payload: Buffer.alloc(28) }, verdict: TC_ACT.OK, event: 'pass_not_ipv4' },
  {
    name: 'IPv4 fragment to a frontend: normal stack',
    prog: 'fromPod',
    packet: { eth: fromPod, ipv4: { src: CLIENT.ip, dst: FE.udp.addr, flags: IP_MF }, udp: { sport: 5000, dport: 53, payload: 'x' } },
    verdict: TC_ACT.OK,
    event: 'pass_fragment',
  },
  {
    name: 'IPv4 fragment with options of its own: normal stack',
    prog: 'fromPod',
    packet: { eth: fromPod, ipv4: { src: CLIENT.ip, dst: FE.udp.addr, flags: IP_MF, options: Buffer.from([0x94, 0x04, 0, 0]) }, udp: { sport: 5000, dport: 53, payload: 'x' } },
    verdict: TC_ACT.OK,
    event: 'pass_fragment',
  },
  {
    name: 'a fragment carrying the shim from the switch: dropped (never towards a pod with the option)',
    prog: 'fromUplink',
    packet: { eth: fromSwitch, ipv4: { src: REMOTE_POD, dst: BACKEND.ip, flags: IP_MF, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 1, backendId: 1 } }, udp: { sport: 1, dport: 2, payload: 'x' } },
    verdict: TC_ACT.SHOT,
    drop: 'shim_fragment',
  },
  {
    name: 'a fragment carrying a shim a pod forged: dropped (never towards the switch)',
    prog: 'fromPod',
    packet: { eth: fromPod, ipv4: { src: CLIENT.ip, dst: FE.tcp.addr, flags: IP_MF, shim: { kind: TalariaKind.PINNED, frontendId: 1, backendId: 1 } }, tcp: { sport: 1, dport: 80, flags: ['SYN'] } },
    verdict: TC_ACT.SHOT,
    drop: 'shim_fragment',
  },
  {
    name: 'IPv4 with options of its own: normal stack',
    prog: 'fromPod',
    packet: { eth: fromPod, ipv4: { src: CLIENT.ip, dst: FE.tcp.addr, options: Buffer.from([0x94, 0x04, 0, 0]) }, tcp: { sport: 1, dport: 80, flags: ['SYN'] } },
    verdict: TC_ACT.OK,
    event: 'pass_ip_options',
  },
  {
    name: 'a pod sending the Talaria option: dropped',
    prog: 'fromPod',
    packet: { eth: fromPod, ipv4: { src: CLIENT.ip, dst: REMOTE_POD, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 1, backendId: 1 } }, tcp: { sport: 1, dport: 80, flags: ['SYN'] } },
    verdict: TC_ACT.SHOT,
    drop: 'shim_from_pod',
  },
  {
    // (test-run refuses frames shorter than an IPv4 header, so the header
    // claims 60 bytes of which the frame holds 24.)
    name: 'IPv4 header longer than the frame: dropped as malformed',
    prog: 'fromPod',
    packet: (() => {
      const b = Buffer.from(buildPacket({ eth: fromPod, ipv4: { src: CLIENT.ip, dst: FE.tcp.addr }, payload: Buffer.alloc(4) }));
      b[14] = 0x4f;
      return b;
    })(),
    verdict: TC_ACT.SHOT,
    drop: 'malformed',
  },
  {
    name: 'IPv4 total length beyond the frame: dropped as malformed',
    prog: 'fromPod',
    packet: (() => {
      const b = buildPacket({ eth: fromPod, ipv4: { src: CLIENT.ip, dst: FE.tcp.addr }, tcp: { sport: 1, dport: 80 } });
      return b.subarray(0, b.length - 4);
    })(),
    verdict: TC_ACT.SHOT,
    drop: 'malformed',
  },
  {
    name: 'IPv4 ihl below 5: dropped as malformed',
    prog: 'fromPod',
    packet: (() => {
      const b = buildPacket({ eth: fromPod, ipv4: { src: CLIENT.ip, dst: FE.tcp.addr }, tcp: { sport: 1, dport: 80 } });
      b[14] = 0x44;
      return b;
    })(),
    verdict: TC_ACT.SHOT,
    drop: 'malformed',
  },
  {
    name: 'TCP header cut short: dropped as malformed',
    prog: 'fromPod',
    packet: (() => {
      const b = Buffer.from(buildPacket({ eth: fromPod, ipv4: { src: CLIENT.ip, dst: FE.tcp.addr }, udp: { sport: 1, dport: 80, payload: 'abcdefghijk' } }));
      b[14 + 9] = IPPROTO_TCP; // 19 bytes of "TCP"
      return b;
    })(),
    verdict: TC_ACT.SHOT,
    drop: 'malformed',
  },

  // ---- from the uplink ----------------------------------------------------
  {
    name: 'TO_BACKEND: recorded in the reply map, shim stripped, delivered to the pod',
    prog: 'fromUplink',
    packet: { eth: fromSwitch, ipv4: { src: REMOTE_POD, dst: BACKEND.ip, ttl: 62, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 21, backendId: 22 } }, tcp: { sport: 41000, dport: 8080, flags: ['SYN'], payload: 'hi' } },
    verdict: TC_ACT.REDIRECT,
    event: 'up_to_backend',
    check: (p) => {
      toPod(p, BACKEND);
      assert.equal(p.ipv4!.ttl, 61);
      assert.equal(p.ipv4!.totalLength, 20 + 20 + 2);
      const r = dp.replies.get(flow(REMOTE_POD, BACKEND.ip, 41000, 8080));
      assert.equal(r.frontend_id, 21);
      assert.equal(r.backend_id, 22);
      assert.equal(r.flags, 0);
    },
  },
  {
    name: 'TO_BACKEND SYN over the reply entry of an earlier connection: overwritten with the new ids',
    prog: 'fromUplink',
    setup: () => dp.replies.update(flow(REMOTE_POD, BACKEND.ip, 41000, 8080), {
      last_seen_ns: 1n, frontend_id: 3, backend_id: 4, orig_saddr: '0.0.0.0', fe_addr: '10.96.0.9', fe_port: 99, flags: HOST_CONN_F_CLOSING | HOST_CONN_F_LOCAL_NAT,
    }),
    packet: { eth: fromSwitch, ipv4: { src: REMOTE_POD, dst: BACKEND.ip, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 21, backendId: 22 } }, tcp: { sport: 41000, dport: 8080, flags: ['SYN'] } },
    verdict: TC_ACT.REDIRECT,
    event: 'up_to_backend',
    check: () => {
      const r = dp.replies.get(flow(REMOTE_POD, BACKEND.ip, 41000, 8080));
      assert.deepEqual([r.frontend_id, r.backend_id, r.flags, r.fe_addr, r.fe_port], [21, 22, 0, '0.0.0.0', 0]);
      assert.ok(r.last_seen_ns > 1n);
    },
  },
  {
    name: 'TO_BACKEND from the pod itself (hairpin): source rewritten to the link-local address',
    prog: 'fromUplink',
    packet: { eth: fromSwitch, ipv4: { src: BACKEND.ip, dst: BACKEND.ip, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 5, backendId: 6 } }, tcp: { sport: 42000, dport: 8080, flags: ['SYN'] } },
    verdict: TC_ACT.REDIRECT,
    event: 'hairpin',
    check: (p) => {
      toPod(p, BACKEND);
      assert.equal(p.ipv4!.src, HOST_HAIRPIN_ADDR);
      const r = dp.replies.get(flow(HOST_HAIRPIN_ADDR, BACKEND.ip, 42000, 8080));
      assert.equal(r.flags, HOST_CONN_F_HAIRPIN);
      assert.equal(r.orig_saddr, BACKEND.ip);
    },
  },
  {
    name: 'TO_CLIENT: backend learnt (connection PINNED from now on), stripped, delivered',
    prog: 'fromUplink',
    packet: { eth: fromSwitch, ipv4: { src: FE.tcp.addr, dst: CLIENT.ip, shim: { kind: TalariaKind.TO_CLIENT, frontendId: 7, backendId: 9 } }, tcp: { sport: 80, dport: 40000, flags: ['SYN', 'ACK'], seq: 1, ack: 1001 } },
    verdict: TC_ACT.REDIRECT,
    event: 'up_to_client',
    check: (p) => {
      toPod(p, CLIENT);
      const ct = dp.conns.get(flow(CLIENT.ip, FE.tcp.addr, 40000, 80));
      assert.equal(ct.frontend_id, 7);
      assert.equal(ct.backend_id, 9);
      assert.equal(dp.affinity.lookup({ client: CLIENT.ip, fe: FE.tcp }), undefined);
    },
  },
  {
    name: 'TO_CLIENT for a reused entry: the new backend learnt, no longer unpinned or closing',
    prog: 'fromUplink',
    setup: () => dp.conns.update(flow(CLIENT.ip, FE.tcp.addr, 40000, 80), { last_seen_ns: 1n, frontend_id: 7, backend_id: 9, nat_addr: '0.0.0.0', nat_port: 0, flags: HOST_CONN_F_UNPINNED | HOST_CONN_F_CLOSING }),
    packet: { eth: fromSwitch, ipv4: { src: FE.tcp.addr, dst: CLIENT.ip, shim: { kind: TalariaKind.TO_CLIENT, frontendId: 7, backendId: 12 } }, tcp: { sport: 80, dport: 40000, flags: ['SYN', 'ACK'], seq: 1, ack: 1001 } },
    verdict: TC_ACT.REDIRECT,
    event: 'up_to_client',
    check: () => {
      const ct = dp.conns.get(flow(CLIENT.ip, FE.tcp.addr, 40000, 80));
      assert.equal(ct.backend_id, 12);
      assert.equal(ct.flags, 0);
    },
  },
  {
    name: 'TO_CLIENT for a reused entry on a ClientIP-affinity frontend also remembers the client',
    prog: 'fromUplink',
    setup: () => dp.conns.update(flow(CLIENT.ip, FE.affinity.addr, 40000, 80), { last_seen_ns: 1n, frontend_id: 3, backend_id: 1, nat_addr: '0.0.0.0', nat_port: 0, flags: HOST_CONN_F_UNPINNED | HOST_CONN_F_CLOSING }),
    packet: { eth: fromSwitch, ipv4: { src: FE.affinity.addr, dst: CLIENT.ip, shim: { kind: TalariaKind.TO_CLIENT, frontendId: 3, backendId: 4 } }, tcp: { sport: 80, dport: 40000, flags: ['SYN', 'ACK'] } },
    verdict: TC_ACT.REDIRECT,
    event: 'up_to_client',
    check: () => {
      assert.equal(dp.conns.get(flow(CLIENT.ip, FE.affinity.addr, 40000, 80)).backend_id, 4);
      assert.equal(dp.affinity.get({ client: CLIENT.ip, fe: FE.affinity }).backend_id, 4);
    },
  },
  {
    name: 'TO_CLIENT on a ClientIP-affinity frontend also remembers the client',
    prog: 'fromUplink',
    packet: { eth: fromSwitch, ipv4: { src: FE.affinity.addr, dst: CLIENT.ip, shim: { kind: TalariaKind.TO_CLIENT, frontendId: 3, backendId: 4 } }, tcp: { sport: 80, dport: 40000, flags: ['SYN', 'ACK'] } },
    verdict: TC_ACT.REDIRECT,
    event: 'up_to_client',
    check: () => {
      const a = dp.affinity.get({ client: CLIENT.ip, fe: FE.affinity });
      assert.equal(a.frontend_id, 3);
      assert.equal(a.backend_id, 4);
    },
  },
  {
    name: 'TO_CLIENT carrying a RST: learnt as closing',
    prog: 'fromUplink',
    packet: { eth: fromSwitch, ipv4: { src: FE.tcp.addr, dst: CLIENT.ip, shim: { kind: TalariaKind.TO_CLIENT, frontendId: 7, backendId: 9 } }, tcp: { sport: 80, dport: 40000, flags: ['RST'] } },
    verdict: TC_ACT.REDIRECT,
    event: 'up_to_client',
    check: () => assert.equal(dp.conns.get(flow(CLIENT.ip, FE.tcp.addr, 40000, 80)).flags, HOST_CONN_F_CLOSING),
  },
  {
    name: 'UDP TO_CLIENT: stripped with a valid UDP checksum',
    prog: 'fromUplink',
    packet: { eth: fromSwitch, ipv4: { src: FE.udp.addr, dst: CLIENT.ip, shim: { kind: TalariaKind.TO_CLIENT, frontendId: 8, backendId: 2 } }, udp: { sport: 53, dport: 5000, payload: 'answer' } },
    verdict: TC_ACT.REDIRECT,
    event: 'up_to_client',
    check: (p) => toPod(p, CLIENT),
  },
  {
    name: 'plain packet from the switch for a local pod: delivered',
    prog: 'fromUplink',
    packet: { eth: fromSwitch, ipv4: { src: REMOTE_POD, dst: CLIENT.ip }, tcp: { sport: 80, dport: 40000, flags: ['ACK'] } },
    verdict: TC_ACT.REDIRECT,
    event: 'up_local',
    check: (p) => toPod(p, CLIENT),
  },
  {
    name: 'plain SYN from the switch reusing the 5-tuple of a finished service connection: the stale reply entry goes',
    prog: 'fromUplink',
    setup: () =>
      dp.replies.update(flow(REMOTE_POD, BACKEND.ip, 41000, 8080), {
        last_seen_ns: 1n, frontend_id: 21, backend_id: 22, orig_saddr: '0.0.0.0', fe_addr: '0.0.0.0', fe_port: 0, flags: HOST_CONN_F_CLOSING,
      }),
    packet: { eth: fromSwitch, ipv4: { src: REMOTE_POD, dst: BACKEND.ip }, tcp: { sport: 41000, dport: 8080, flags: ['SYN'] } },
    verdict: TC_ACT.REDIRECT,
    event: 'up_local',
    check: (p) => {
      toPod(p, BACKEND);
      assert.equal(dp.replies.lookup(flow(REMOTE_POD, BACKEND.ip, 41000, 8080)), undefined);
    },
  },
  {
    name: 'plain ACK on a 5-tuple with a reply entry leaves it alone (only SYNs start flows)',
    prog: 'fromUplink',
    setup: () =>
      dp.replies.update(flow(REMOTE_POD, BACKEND.ip, 41000, 8080), {
        last_seen_ns: 1n, frontend_id: 21, backend_id: 22, orig_saddr: '0.0.0.0', fe_addr: '0.0.0.0', fe_port: 0, flags: 0,
      }),
    packet: { eth: fromSwitch, ipv4: { src: REMOTE_POD, dst: BACKEND.ip }, tcp: { sport: 41000, dport: 8080, flags: ['ACK'] } },
    verdict: TC_ACT.REDIRECT,
    event: 'up_local',
    check: () => assert.ok(dp.replies.lookup(flow(REMOTE_POD, BACKEND.ip, 41000, 8080))),
  },
  {
    name: 'plain UDP from a local pod to a local pod forgets a stale reply entry of that 5-tuple',
    prog: 'fromPod',
    setup: () =>
      dp.replies.update(flow(CLIENT.ip, BACKEND.ip, 5000, 53, IPPROTO_UDP), {
        last_seen_ns: 1n, frontend_id: 8, backend_id: 2, orig_saddr: '0.0.0.0', fe_addr: '0.0.0.0', fe_port: 0, flags: 0,
      }),
    packet: { eth: fromPod, ipv4: { src: CLIENT.ip, dst: BACKEND.ip }, udp: { sport: 5000, dport: 53, payload: 'q' } },
    verdict: TC_ACT.REDIRECT,
    event: 'pod_local',
    check: () => assert.equal(dp.replies.lookup(flow(CLIENT.ip, BACKEND.ip, 5000, 53, IPPROTO_UDP)), undefined),
  },
  { name: 'plain packet for the node itself: normal stack', prog: 'fromUplink', packet: { eth: fromSwitch, ipv4: { src: '198.18.2.2', dst: '198.18.1.2' }, tcp: { sport: 1, dport: 22, flags: ['SYN'] } }, verdict: TC_ACT.OK, event: 'pass_other' },
  {
    name: 'TO_BACKEND for a pod not on this node: dropped',
    prog: 'fromUplink',
    packet: { eth: fromSwitch, ipv4: { src: REMOTE_POD, dst: '10.244.1.99', shim: { kind: TalariaKind.TO_BACKEND, frontendId: 1, backendId: 1 } }, tcp: { sport: 1, dport: 80, flags: ['SYN'] } },
    verdict: TC_ACT.SHOT,
    drop: 'no_local_pod',
  },
  {
    name: 'a kind hosts never receive (NEW) from the switch: dropped',
    prog: 'fromUplink',
    packet: { eth: fromSwitch, ipv4: { src: REMOTE_POD, dst: BACKEND.ip, shim: { kind: TalariaKind.NEW, frontendId: 0, backendId: 0 } }, tcp: { sport: 1, dport: 80, flags: ['SYN'] } },
    verdict: TC_ACT.SHOT,
    drop: 'shim_kind',
  },
  {
    name: 'shim version 2: dropped',
    prog: 'fromUplink',
    packet: { eth: fromSwitch, ipv4: { src: REMOTE_POD, dst: BACKEND.ip, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 1, backendId: 1, version: 2 } }, tcp: { sport: 1, dport: 80, flags: ['SYN'] } },
    verdict: TC_ACT.SHOT,
    drop: 'shim_version',
  },
  {
    name: 'our option with a wrong length: dropped',
    prog: 'fromUplink',
    packet: (() => {
      const b = buildPacket({ eth: fromSwitch, ipv4: { src: REMOTE_POD, dst: BACKEND.ip, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 1, backendId: 1 } }, tcp: { sport: 1, dport: 80, flags: ['SYN'] } });
      b[14 + 21] = 8;
      return b;
    })(),
    verdict: TC_ACT.SHOT,
    drop: 'shim_malformed',
  },
  {
    name: 'shim cut short by the end of the frame: dropped as malformed',
    prog: 'fromUplink',
    packet: buildPacket({ eth: fromSwitch, ipv4: { src: REMOTE_POD, dst: BACKEND.ip, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 1, backendId: 1 } } }).subarray(0, 14 + 26),
    verdict: TC_ACT.SHOT,
    drop: 'malformed',
  },
];

describe('host programs (BPF_PROG_TEST_RUN)', () => {
  before(() => {
    dp = HostDatapath.open({ objectPath: defaultObjectPath({ rebuild: true }) });
    configureHostNode(dp);
  });
  after(() => dp?.close());

  for (const c of cases) it(c.name, () => runCase(c));

  it('without configuration both programs pass everything (fail open)', () => {
    const cfg = dp.config.get(0);
    dp.config.update(0, { ...cfg, uplink_ifindex: 0 });
    try {
      runCase({ name: 'unconfigured', prog: 'fromPod', packet: syn(FE.tcp), verdict: TC_ACT.OK, event: 'pass_no_config' });
      runCase({ name: 'unconfigured', prog: 'fromUplink', packet: syn(FE.tcp), verdict: TC_ACT.OK, event: 'pass_no_config' });
    } finally {
      dp.config.update(0, cfg);
    }
  });

  it('redirect_peer mode delivers with the same verdict', () => {
    const cfg = dp.config.get(0);
    dp.config.update(0, { ...cfg, flags: 1 });
    try {
      runCase({ name: 'peer', prog: 'fromUplink', packet: { eth: fromSwitch, ipv4: { src: REMOTE_POD, dst: CLIENT.ip }, udp: { sport: 1, dport: 2 } }, verdict: TC_ACT.REDIRECT, event: 'up_local', check: (p) => toPod(p, CLIENT) });
    } finally {
      dp.config.update(0, cfg);
    }
  });

  it('a connection end to end: NEW, TO_BACKEND, REPLY, TO_CLIENT, then PINNED', () => {
    resetMaps();
    const run = (prog: 'fromPod' | 'fromUplink', spec: PacketSpec): ParsedPacket => {
      const r = runProgram(dp.programs[prog], buildPacket(spec));
      assert.equal(r.verdict, TC_ACT.REDIRECT, describePacket(r.packet));
      return parsePacket(r.packet);
    };
    // Client host: NEW to the switch.
    const a = run('fromPod', syn(FE.tcp));
    assert.equal(a.ipv4!.shim!.kind, TalariaKind.NEW);
    // (switch: picks backend 9 of frontend 7, rewrites the destination.)
    run('fromUplink', { eth: fromSwitch, ipv4: { src: CLIENT.ip, dst: BACKEND.ip, shim: { kind: TalariaKind.TO_BACKEND, frontendId: 7, backendId: 9 } }, tcp: { sport: 40000, dport: 8080, flags: ['SYN'] } });
    const c = run('fromPod', { eth: { src: BACKEND.mac, dst: GW_MAC }, ipv4: { src: BACKEND.ip, dst: CLIENT.ip }, tcp: { sport: 8080, dport: 40000, flags: ['SYN', 'ACK'] } });
    assert.deepEqual([c.ipv4!.shim!.kind, c.ipv4!.shim!.frontendId, c.ipv4!.shim!.backendId], [TalariaKind.REPLY, 7, 9]);
    // (switch: restores the frontend as source.)
    run('fromUplink', { eth: fromSwitch, ipv4: { src: FE.tcp.addr, dst: CLIENT.ip, shim: { kind: TalariaKind.TO_CLIENT, frontendId: 7, backendId: 9 } }, tcp: { sport: 80, dport: 40000, flags: ['SYN', 'ACK'] } });
    const e = run('fromPod', syn(FE.tcp, { tcp: { sport: 40000, dport: 80, flags: ['ACK'] } }));
    assert.deepEqual([e.ipv4!.shim!.kind, e.ipv4!.shim!.frontendId, e.ipv4!.shim!.backendId], [TalariaKind.PINNED, 7, 9]);
  });
});
