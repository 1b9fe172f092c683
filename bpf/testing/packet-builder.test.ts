import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TalariaKind } from '../layouts/shim.js';
import { IP_DF, buildPacket, describePacket, internetChecksum, parsePacket } from './packet-builder.js';
import type { PacketSpec } from './packet-builder.js';

// Reference frames produced by an independent implementation (scapy 2.8,
// raw(Ether()/IP()/...)) from the same field values: the bytes, checksums
// included, must match exactly.
const vectors: Array<{ name: string; spec: PacketSpec; hex: string }> = [
  {
    name: 'IPv4 TCP SYN with DF',
    spec: { ipv4: { src: '10.244.1.2', dst: '10.96.0.10', ttl: 64, id: 0x1234, flags: IP_DF }, tcp: { sport: 40000, dport: 80, seq: 1000, flags: ['SYN'], window: 64240 } },
    hex: '020000000002020000000001080045000028123440004006123d0af401020a60000a9c400050000003e8000000005002faf0fe190000',
  },
  {
    name: 'IPv4 UDP with payload',
    spec: { ipv4: { src: '10.244.1.2', dst: '10.244.2.3', ttl: 63 }, udp: { sport: 5353, dport: 53, payload: 'hello' } },
    hex: '020000000002020000000001080045000021000000003f1162e00af401020af4020314e90035000d8df768656c6c6f',
  },
  {
    name: 'IPv4 ICMP echo request',
    spec: { ipv4: { src: '198.18.0.1', dst: '198.18.0.2', id: 7 }, icmp: { type: 8, id: 0x42, seq: 1, payload: 'abcdefgh' } },
    hex: '020000000002020000000001080045000024000700004001eeaac6120001c612000208006627004200016162636465666768',
  },
  {
    name: 'IPv6 TCP PSH,ACK with payload',
    spec: { ipv6: { src: 'fd00::1', dst: 'fd00::2' }, tcp: { sport: 1234, dport: 443, flags: ['PSH', 'ACK'], seq: 1, ack: 2, window: 1000, payload: 'data' } },
    hex: '02000000000202000000000186dd6000000000180640fd000000000000000000000000000001fd00000000000000000000000000000204d201bb0000000100000002501803e8d289000064617461',
  },
  {
    name: 'IPv6 UDP',
    spec: { ipv6: { src: 'fd00:1::10', dst: 'fd00:2::20', hopLimit: 32 }, udp: { sport: 1000, dport: 2000, payload: 'xyz' } },
    hex: '02000000000202000000000186dd60000000000b1120fd000001000000000000000000000010fd00000200000000000000000000002003e807d0000b077278797a',
  },
  {
    name: 'ICMPv6 echo request',
    spec: { ipv6: { src: 'fe80::1', dst: 'fe80::2', hopLimit: 255 }, icmp: { type: 128, id: 7, seq: 9, payload: 'ping' } },
    hex: '02000000000202000000000186dd60000000000c3afffe800000000000000000000000000001fe8000000000000000000000000000028000a3d30007000970696e67',
  },
  {
    name: 'IPv4 with the Talaria shim (NEW, frontend 7)',
    spec: {
      ipv4: { src: '10.244.1.2', dst: '10.96.0.10', id: 1, shim: { kind: TalariaKind.NEW, frontendId: 7, backendId: 0 } },
      tcp: { sport: 40000, dport: 80, seq: 5, flags: ['SYN'], window: 64240 },
    },
    hex: '020000000002020000000001080048000034000100004006b2500af401020a60000a9e0c110000000007000000009c40005000000005000000005002faf001fd0000',
  },
];

describe('packet builder', () => {
  it('computes the RFC 1071 example sum and the classic IPv4 header checksum', () => {
    // RFC 1071 section 3: the one's complement sum of 0001 f203 f4f5 f6f7 is ddf2.
    assert.equal(internetChecksum(Buffer.from('0001f203f4f5f6f7', 'hex')), ~0xddf2 & 0xffff);
    // 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7: a header summing to zero is valid.
    assert.equal(internetChecksum(Buffer.from('450000730000400040110000c0a80001c0a800c7', 'hex')), 0xb861);
    const frame = buildPacket({ ipv4: { src: '192.168.0.1', dst: '192.168.0.199', flags: IP_DF }, udp: { sport: 1, dport: 2, payload: Buffer.alloc(87) } });
    assert.equal(frame.readUInt16BE(14 + 10), 0xb861);
  });

  for (const v of vectors) {
    it(`builds ${v.name} byte for byte`, () => {
      assert.equal(buildPacket(v.spec).toString('hex'), v.hex);
    });

    it(`parses ${v.name} back into its spec with valid checksums`, () => {
      const p = parsePacket(Buffer.from(v.hex, 'hex'));
      const ip = p.ipv4 ?? p.ipv6;
      const specIp = (v.spec.ipv4 ?? v.spec.ipv6)!;
      assert.ok(ip);
      assert.equal(ip.src, specIp.src);
      assert.equal(ip.dst, specIp.dst);
      if (p.ipv4) assert.equal(p.ipv4.checksumOk, true);
      const l4 = p.tcp ?? p.udp ?? p.icmp;
      assert.ok(l4, 'an L4 header');
      assert.equal(l4.checksumOk, true);
      const specL4 = (v.spec.tcp ?? v.spec.udp ?? v.spec.icmp)!;
      assert.equal(l4.payload.toString(), String(specL4.payload ?? ''));
      if (v.spec.tcp) assert.deepEqual(p.tcp?.flags, v.spec.tcp.flags);
      if (v.spec.ipv4?.shim) assert.deepEqual(p.ipv4?.shim, { version: 1, flags: 0, ...v.spec.ipv4.shim });
    });
  }

  it('round-trips the IPv6 Destination Options form of the shim', () => {
    const shim = { kind: TalariaKind.TO_CLIENT, frontendId: 0xdeadbeef, backendId: 42, flags: 3 };
    const frame = buildPacket({ ipv6: { src: 'fd00::1', dst: 'fd00::2', shim }, udp: { sport: 1, dport: 2, payload: 'x' } });
    const p = parsePacket(frame);
    assert.deepEqual(p.ipv6?.shim, { version: 1, ...shim });
    assert.equal(p.ipv6?.nextHeader, 17);
    assert.equal(p.udp?.checksumOk, true);
    assert.equal(p.ipv6?.payloadLength, 16 + 9);
  });

  const corruptions: Array<{ name: string; spec: PacketSpec; layer: 'ipv4' | 'tcp' | 'udp' | 'icmp' }> = [
    { name: 'IPv4 header checksum', spec: { ipv4: { src: '1.1.1.1', dst: '2.2.2.2', checksum: 0x1234 }, udp: { sport: 1, dport: 2 } }, layer: 'ipv4' },
    { name: 'TCP checksum', spec: { ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { sport: 1, dport: 2, checksum: 0x1234 } }, layer: 'tcp' },
    { name: 'UDP checksum', spec: { ipv6: { src: '::1', dst: '::2' }, udp: { sport: 1, dport: 2, checksum: 0x1234 } }, layer: 'udp' },
    { name: 'ICMP checksum', spec: { ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, icmp: { type: 8, checksum: 0x1234 } }, layer: 'icmp' },
  ];
  for (const c of corruptions) {
    it(`flags a wrong ${c.name}`, () => {
      const p = parsePacket(buildPacket(c.spec));
      assert.equal(p[c.layer]?.checksumOk, false);
      assert.match(describePacket(buildPacket(c.spec)), /BAD/);
    });
  }

  it('notices that a TTL change without a checksum fix breaks the IPv4 header', () => {
    const frame = buildPacket({ ipv4: { src: '10.0.0.1', dst: '10.0.0.2', ttl: 64 }, udp: { sport: 1, dport: 2 } });
    frame[14 + 8] = 63;
    assert.equal(parsePacket(frame).ipv4?.checksumOk, false);
  });

  it('treats UDP checksum 0 over IPv4 as "none", and never emits 0', () => {
    const none = parsePacket(buildPacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 2, checksum: 0 } }));
    assert.equal(none.udp?.checksumOk, true);
    for (let port = 0; port < 2000; port++) {
      const p = parsePacket(buildPacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: port, dport: 2 } }));
      assert.notEqual(p.udp?.checksum, 0);
      assert.equal(p.udp?.checksumOk, true);
    }
  });

  it('carries non-IP frames and describes packets on one line', () => {
    const arp = buildPacket({ eth: { type: 0x0806, src: '02:00:00:00:00:aa' }, payload: Buffer.alloc(28) });
    const p = parsePacket(arp);
    assert.equal(p.eth.type, 0x0806);
    assert.equal(p.payload?.length, 28);
    assert.match(describePacket(arp), /ethertype 0x0806/);
    assert.equal(
      describePacket(Buffer.from(vectors[6]!.hex, 'hex')),
      '02:00:00:00:00:01 > 02:00:00:00:00:02 | IPv4 10.244.1.2 > 10.96.0.10 ttl=64 | shim kind=1 fe=7 be=0 | TCP 40000 > 80 [SYN] len=0',
    );
  });

  it('reports truncation instead of throwing', () => {
    const frame = buildPacket({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { sport: 1, dport: 2 } });
    assert.equal(parsePacket(frame.subarray(0, 14 + 20 + 10)).truncated, 'tcp');
    assert.equal(parsePacket(frame.subarray(0, 20)).truncated, 'ipv4');
  });
});
