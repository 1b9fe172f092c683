// The assertions of the switch's packet cases, the same for every target:
// given what a target sent out of its ports for one input frame, check it
// against the case's expectation. What only one target can show (the eBPF
// switch's drop-reason counters, its kernel pass) its runner checks itself.
import assert from 'node:assert/strict';
import { describePacket, parsePacket } from '../../bpf/testing/packet-builder.js';
import { BACKENDS, HOST_MAC, PORT_MAC, VIP, type Expect, type GroupPick } from './cases.js';

export interface Sent {
  port: number;
  frame: Buffer;
}

export interface TargetTraits {
  /** The backend a NEW flow to the case group lands on, when the target's selection is predictable. */
  predict?: (pick: GroupPick) => number;
}

/** Checks what left the switch (`sent`) for the frame `input` against `want`. */
export function checkOutcome(want: Expect, input: Buffer, sent: readonly Sent[], traits: TargetTraits): void {
  const shown = `${describePacket(input)} -> ${sent.map((s) => `port ${s.port}: ${describePacket(s.frame)}`).join('; ') || 'nothing'}`;
  if (want.verdict === 'drop' || want.verdict === 'pass') {
    assert.equal(sent.length, 0, `nothing may leave a port: ${shown}`);
    return;
  }
  assert.equal(sent.length, 1, `one packet out: ${shown}`);
  const [{ port, frame }] = sent as [Sent];
  assert.equal(port, want.port, `out of port ${want.port}: ${shown}`);
  const inp = parsePacket(input);
  const out = parsePacket(frame);
  assert.equal(out.eth.dst, HOST_MAC[want.port], 'dst MAC from the route');
  assert.equal(out.eth.src, PORT_MAC[want.port], "src MAC: the egress port's egress_ports entry");
  assert.ok(out.ipv4, shown);
  assert.ok(out.ipv4.checksumOk, `IPv4 header checksum: ${shown}`);
  assert.equal(out.ipv4.totalLength, frame.length - 14, `tot_len matches the packet: ${shown}`);
  assert.equal(out.ipv4.src, want.src);

  if (want.verdict === 'reject') {
    assert.equal(out.ipv4.ihl, 5, shown);
    assert.equal(out.ipv4.dst, want.dst);
    if (want.rst) {
      assert.ok(out.tcp?.checksumOk, `TCP checksum: ${shown}`);
      assert.equal(out.tcp.sport, want.sport);
      assert.equal(out.tcp.dport, want.dport);
      assert.ok(out.tcp.flags.includes('RST'), shown);
      assert.equal(out.tcp.seq, want.rst.seq);
      assert.equal(out.tcp.ack, want.rst.ack);
    } else {
      assert.ok(out.icmp?.checksumOk, `ICMP checksum: ${shown}`);
      assert.equal(out.icmp.type, 3);
      assert.equal(out.icmp.code, 3);
      const quoted = parsePacket(Buffer.concat([frame.subarray(0, 14), out.icmp.payload]));
      assert.equal(quoted.ipv4?.ihl, 5, 'the quoted header is the one the client sent: no shim');
      assert.ok(quoted.ipv4?.checksumOk, 'the quoted header has a valid checksum');
      assert.equal(quoted.ipv4?.src, want.dst);
      assert.equal(quoted.ipv4?.dst, VIP);
      assert.equal(out.icmp.payload.readUInt16BE(20), want.icmp!.sport);
      assert.equal(out.icmp.payload.readUInt16BE(22), want.icmp!.dport);
    }
    return;
  }

  let dst = want.dst;
  let backendId = want.shim?.backendId;
  if (want.pick) {
    const chosen = out.ipv4.shim?.backendId as 101 | 102 | undefined;
    assert.ok(chosen !== undefined && want.pick.among.includes(chosen as 101 | 102), `a backend of the group: ${shown}`);
    if (traits.predict) assert.equal(chosen, traits.predict(want.pick), 'the backend the target documents');
    dst = BACKENDS[chosen as 101 | 102].addr;
    backendId = chosen;
  }
  assert.equal(out.ipv4.dst, dst);
  assert.equal(out.ipv4.ttl, want.ttl ?? inp.ipv4!.ttl - 1);
  if (want.shim === null) {
    assert.equal(out.ipv4.ihl, 5);
    assert.equal(out.ipv4.shim, undefined);
  } else if (want.shim) {
    assert.equal(out.ipv4.ihl, 8);
    assert.deepEqual(
      { kind: out.ipv4.shim?.kind, frontendId: out.ipv4.shim?.frontendId, backendId: out.ipv4.shim?.backendId, flags: out.ipv4.shim?.flags },
      { flags: 0, ...want.shim, backendId },
    );
  }
  const l4 = out.tcp ?? out.udp;
  const inL4 = inp.tcp ?? inp.udp;
  assert.ok(l4 && inL4, shown);
  if (want.sport !== undefined) assert.equal(l4.sport, want.sport);
  if (want.dport !== undefined) assert.equal(l4.dport, want.dport);
  assert.deepEqual(l4.payload, inL4.payload, 'payload intact');
  if (out.udp && inp.udp?.checksum === 0) assert.equal(out.udp.checksum, 0, 'UDP checksum 0 stays 0');
  else assert.ok(l4.checksumOk, `L4 checksum: ${shown}`);
}

/** The port a forwarded frame left by, told by its destination MAC (each route's dst_mac is unique here). */
export function portOfDestinationMac(frame: Buffer): number | undefined {
  const dst = parsePacket(frame).eth.dst;
  const hit = Object.entries(HOST_MAC).find(([, mac]) => mac === dst);
  return hit ? Number(hit[0]) : undefined;
}
