// Map CRUD on a real kernel through typed codecs, and the named errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bpfObjectPath } from '../testing/paths.js';
import { layoutProblems, checkLayoutAgainstBtf } from './btf-layout.js';
import { bytes, i32, structCodec, u32, u64 } from './codec.js';
import type { CodecValue } from './codec.js';
import { KeyExistsError, KeyNotFoundError, LayoutMismatchError, MapFullError, WrongSizeError } from './errors.js';
import { BPF_ANY, BPF_EXIST, BPF_NOEXIST, possibleCpus } from './map.js';
import type { BpfMap } from './map.js';
import { BpfObject } from './object.js';

const CrudKey = structCodec({ name: 'crud_key', size: 8, fields: { addr: [0, 'ipv4'], port: [4, 'be16'], proto: [6, 'u8'] } });
const CrudValue = structCodec({
  name: 'crud_value',
  size: 24,
  fields: { hits: [0, 'u64'], mac: [8, 'mac'], flags: [14, 'u16'], backend_id: [16, 'u32'] },
});
type Key = CodecValue<typeof CrudKey>;
type Value = CodecValue<typeof CrudValue>;

const key = (i: number): Key => ({ addr: `10.96.0.${i}`, port: 80 + i, proto: 6 });
const value = (i: number): Value => ({ hits: BigInt(i) << 40n, mac: `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`, flags: i, backend_id: 1000 + i });

describe('BpfMap', () => {
  let obj: BpfObject;
  let crud: BpfMap<Key, Value>;

  before(() => {
    obj = BpfObject.open(bpfObjectPath('test_counter'));
    crud = obj.map('crud', CrudKey, CrudValue);
  });
  after(() => obj?.close());

  it('declares layouts that match the C structs', () => {
    checkLayoutAgainstBtf(obj, 'struct crud_key', CrudKey);
    checkLayoutAgainstBtf(obj, 'struct crud_value', CrudValue);
  });

  const wrongLayouts = [
    { name: 'a field at the wrong offset', codec: structCodec({ name: 'crud_key', size: 8, fields: { addr: [0, 'ipv4'], port: [6, 'be16'], proto: [5, 'u8'] } }), problem: /field port: offset 6 in the codec, 4 in C/ },
    { name: 'a field of the wrong width', codec: structCodec({ name: 'crud_key', size: 8, fields: { addr: [0, 'ipv4'], port: [4, 'be32'] } }), problem: /field port: 4 bytes in the codec, 2 in C/ },
    { name: 'a missing member', codec: structCodec({ name: 'crud_key', size: 8, fields: { addr: [0, 'ipv4'], port: [4, 'be16'] } }), problem: /member proto .* is missing from the codec/ },
    { name: 'the wrong total size', codec: structCodec({ name: 'crud_key', size: 12, fields: { addr: [0, 'ipv4'], port: [4, 'be16'], proto: [6, 'u8'] } }), problem: /size: C has 8 bytes, the codec 12/ },
    { name: 'a member C does not have', codec: structCodec({ name: 'crud_key', size: 8, fields: { addr: [0, 'ipv4'], port: [4, 'be16'], proto: [6, 'u8'], zone: [7, 'u8'] } }), problem: /field zone: no such member in C/ },
  ];
  for (const w of wrongLayouts) {
    it(`reports ${w.name} against the BTF`, () => {
      assert.match(layoutProblems(obj, 'struct crud_key', w.codec).join('\n'), w.problem);
      assert.throws(() => checkLayoutAgainstBtf(obj, 'crud_key', w.codec), LayoutMismatchError);
    });
  }

  it('creates, reads, replaces and deletes entries', () => {
    crud.clear();
    assert.equal(crud.lookup(key(1)), undefined);
    crud.update(key(1), value(1), BPF_NOEXIST);
    assert.deepEqual(crud.get(key(1)), value(1));
    crud.update(key(1), value(2), BPF_EXIST);
    assert.deepEqual(crud.lookup(key(1)), value(2));
    assert.equal(crud.has(key(1)), true);
    crud.delete(key(1));
    assert.equal(crud.has(key(1)), false);
    assert.equal(crud.tryDelete(key(1)), false);
  });

  it('iterates keys and entries', () => {
    crud.clear();
    for (const i of [1, 2, 3]) crud.update(key(i), value(i));
    const sort = <T extends [Key, Value] | Key>(xs: T[]): T[] => xs.sort((a, b) => JSON.stringify(a, (_, v) => (typeof v === 'bigint' ? String(v) : v)).localeCompare(JSON.stringify(b, (_, v) => (typeof v === 'bigint' ? String(v) : v))));
    assert.deepEqual(sort([...crud.keys()]), sort([key(1), key(2), key(3)]));
    assert.deepEqual(sort([...crud.entries()]), sort([1, 2, 3].map((i) => [key(i), value(i)] as [Key, Value])));
    for (const k of crud.keys()) crud.delete(k); // deleting while iterating is safe
    assert.equal([...crud.keys()].length, 0);
  });

  it('deletes in batches, skipping keys that are not there', () => {
    crud.clear();
    for (const i of [1, 2, 3, 4]) crud.update(key(i), value(i));
    assert.equal(crud.deleteBatch([key(1), key(9), key(3), key(8)]), 2);
    assert.deepEqual([...crud.keys()].map((k) => k.port).sort(), [82, 84]);
    assert.equal(crud.clear(), 2);
  });

  it('gives distinct named errors for a full map, a missing key and an existing key', () => {
    crud.clear();
    for (let i = 0; i < 8; i++) crud.update(key(i), value(i));
    assert.throws(() => crud.update(key(8), value(8)), (e: unknown) => e instanceof MapFullError && /bpf_map_update_elem\(crud\) failed: E2BIG/.test(e.message));
    assert.throws(() => crud.get(key(9)), (e: unknown) => e instanceof KeyNotFoundError && /bpf_map_lookup_elem\(crud\) failed: ENOENT/.test(e.message));
    assert.throws(() => crud.delete(key(9)), KeyNotFoundError);
    assert.throws(() => crud.update(key(9), value(9), BPF_EXIST), KeyNotFoundError);
    assert.throws(() => crud.update(key(0), value(0), BPF_NOEXIST), (e: unknown) => e instanceof KeyExistsError && e.code === 'EEXIST');
    crud.update(key(0), value(7), BPF_ANY); // replacing in a full map is fine
    assert.equal(crud.clear(), 8);
  });

  it('checks sizes in TypeScript before calling the kernel', () => {
    assert.throws(
      () => obj.map('crud', u32, CrudValue),
      (e: unknown) => e instanceof WrongSizeError && e.expected === 8 && e.actual === 4 && /crud.*key codec is 4 bytes, the map expects 8/.test(e.message),
    );
    assert.throws(() => obj.map('crud', CrudKey, u64), (e: unknown) => e instanceof WrongSizeError && e.expected === 24 && e.actual === 8);
    const raw = obj.map('crud', bytes(8), bytes(24));
    assert.throws(
      () => raw.update(Buffer.alloc(7), Buffer.alloc(24)),
      (e: unknown) => e instanceof WrongSizeError && e.call === 'bpf_map_update_elem' && e.object === 'crud' && e.expected === 8 && e.actual === 7,
    );
    assert.throws(() => raw.update(Buffer.alloc(8), Buffer.alloc(25)), (e: unknown) => e instanceof WrongSizeError && e.expected === 24 && e.actual === 25);
  });

  it('refuses codecs of another C type, even of the right size (BTF)', () => {
    const swapped = structCodec({ name: 'not_crud_key', size: 8, fields: { a: [0, 'u32'], b: [4, 'u32'] } });
    assert.throws(() => obj.map('crud', swapped, CrudValue), (e: unknown) => e instanceof LayoutMismatchError && /map crud: key is struct crud_key in C, the codec reads struct not_crud_key/.test(e.message));
    assert.throws(() => obj.map('bench', i32, u64), (e: unknown) => e instanceof LayoutMismatchError && /key is u32 in C, the codec reads s32/.test(e.message));
  });

  it('updates in batches, and reports how far a batch got when the map fills up', () => {
    const bench = obj.map('bench', u32, u64);
    bench.clear();
    const entries = Array.from({ length: 20_000 }, (_, i) => [i, BigInt(i * 3)] as const);
    assert.equal(bench.updateBatch(entries), 20_000);
    assert.equal(bench.get(19_999), 59_997n);
    assert.equal([...bench.keys()].length, 20_000);
    assert.equal(bench.clear(), 20_000);

    crud.clear();
    const tooMany = Array.from({ length: 10 }, (_, i) => [key(i), value(i)] as const);
    assert.throws(() => crud.updateBatch(tooMany), (e: unknown) => e instanceof MapFullError && e.completed === 8 && e.call === 'bpf_map_update_batch');
    crud.clear();
  });

  it('reads and writes per-CPU values, one per possible CPU', () => {
    const drops = obj.perCpuMap('percpu_drops', u32, u64);
    const cpus = possibleCpus();
    const perCpu = Array.from({ length: cpus }, (_, c) => BigInt(c + 1));
    drops.update(2, perCpu);
    assert.deepEqual(drops.get(2), perCpu);
    drops.update(3, [5n]); // one value: every CPU
    assert.deepEqual(drops.get(3), new Array(cpus).fill(5n));
    assert.throws(() => drops.update(2, new Array(cpus + 1).fill(0n)), WrongSizeError);
    assert.throws(() => obj.map('percpu_drops', u32, u64), /per-CPU map: use perCpuMap/);
    assert.equal(obj.mapInfo('percpu_drops').maxEntries, 4);
    const all = new Map(drops.entries());
    assert.deepEqual([...all.keys()], [0, 1, 2, 3]); // an array map has every index
    assert.deepEqual(all.get(2), perCpu);
  });
});

