import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { be16, be32, bytes, formatIpv6, i32, ipv4, ipv6, mac, parseIpv6, perCpuCodec, structCodec, u16, u32, u64 } from './codec.js';
import type { Codec } from './codec.js';
import { WrongSizeError } from './errors.js';

function enc<T>(c: Codec<T>, v: T): string {
  const b = Buffer.alloc(c.size);
  c.encode(v, b, 0);
  return b.toString('hex');
}

describe('codecs', () => {
  const table: Array<{ name: string; codec: Codec<never>; value: unknown; hex: string }> = [
    { name: 'u16 host order', codec: u16, value: 0x1234, hex: '3412' },
    { name: 'u32 host order', codec: u32, value: 0x01020304, hex: '04030201' },
    { name: 'i32', codec: i32, value: -2, hex: 'feffffff' },
    { name: 'u64', codec: u64, value: 0x0102030405060708n, hex: '0807060504030201' },
    { name: 'be16', codec: be16, value: 0x1234, hex: '1234' },
    { name: 'be32', codec: be32, value: 0x0a000001, hex: '0a000001' },
    { name: 'ipv4', codec: ipv4, value: '10.244.1.2', hex: '0af40102' },
    { name: 'ipv6', codec: ipv6, value: 'fd00::1', hex: 'fd000000000000000000000000000001' },
    { name: 'mac', codec: mac, value: '02:00:0a:0b:0c:ff', hex: '02000a0b0cff' },
  ].map((r) => ({ ...r, codec: r.codec as Codec<never> }));
  for (const r of table) {
    it(`encodes and decodes ${r.name}`, () => {
      assert.equal(enc(r.codec, r.value as never), r.hex);
      assert.deepEqual(r.codec.decode(Buffer.from(r.hex, 'hex'), 0), r.value);
    });
  }

  it('formats IPv6 the canonical way', () => {
    for (const [text, canonical] of [
      ['fd00:0:0:0:0:0:0:1', 'fd00::1'],
      ['::', '::'],
      ['::ffff:10.0.0.1', '::ffff:a00:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['2001:DB8::1:0:0:1', '2001:db8::1:0:0:1'],
    ]) {
      assert.equal(formatIpv6(parseIpv6(text!)), canonical);
    }
    assert.throws(() => parseIpv6('1::2::3'), /not an IPv6 address/);
    assert.throws(() => enc(ipv4, '10.0.0.256'), /not an IPv4 address/);
    assert.throws(() => enc(mac, '02:00:00:00:00'), /not a MAC address/);
  });

  it('lays out structs at explicit offsets with zeroed padding', () => {
    const c = structCodec({ name: 'lb_key', size: 12, fields: { addr: [0, 'ipv4'], port: [4, 'be16'], proto: [6, 'u8'], id: [8, 'u32'] } });
    const buf = Buffer.alloc(14, 0xff);
    c.encode({ addr: '10.96.0.1', port: 443, proto: 6, id: 7 }, buf, 1);
    assert.equal(buf.toString('hex'), 'ff' + '0a600001' + '01bb' + '06' + '00' + '07000000' + 'ff');
    assert.deepEqual(c.decode(buf, 1), { addr: '10.96.0.1', port: 443, proto: 6, id: 7 });
    assert.deepEqual(c.zero(), { addr: '0.0.0.0', port: 0, proto: 0, id: 0 });
    assert.deepEqual(c.fields.map((f) => [f.name, f.offset, f.size]), [['addr', 0, 4], ['port', 4, 2], ['proto', 6, 1], ['id', 8, 4]]);
  });

  it('nests codecs and raw bytes', () => {
    const inner = structCodec({ name: 'in', size: 4, fields: { a: [0, 'u16'], b: [2, 'u16'] } });
    const outer = structCodec({ name: 'out', size: 12, fields: { x: [0, inner], raw: [4, bytes(8)] } });
    const v = { x: { a: 1, b: 2 }, raw: Buffer.from('0102030405060708', 'hex') };
    assert.equal(enc(outer, v), '010002000102030405060708');
    assert.throws(() => enc(outer, { ...v, raw: Buffer.alloc(3) }), WrongSizeError);
  });

  it('rejects impossible layouts when they are declared', () => {
    assert.throws(() => structCodec({ name: 's', size: 4, fields: { a: [0, 'u32'], b: [2, 'u16'] } }), /fields a and b overlap/);
    assert.throws(() => structCodec({ name: 's', size: 4, fields: { a: [2, 'u32'] } }), /outside its 4 bytes/);
    const c = structCodec({ name: 's', size: 4, fields: { a: [0, 'u32'] } });
    assert.throws(() => enc(c, {} as never), /field a is missing/);
  });

  it('spreads per-CPU values over 8-byte slots', () => {
    const c = perCpuCodec(u32, 3);
    assert.equal(c.size, 24);
    assert.equal(enc(c, [1, 2, 3]), '0100000000000000' + '0200000000000000' + '0300000000000000');
    assert.equal(enc(c, [9]), '0900000000000000'.repeat(3));
    assert.deepEqual(c.decode(Buffer.from('0100000000000000'.repeat(3), 'hex'), 0), [1, 1, 1]);
    assert.throws(() => enc(c, [1, 2]), WrongSizeError);
  });
});
