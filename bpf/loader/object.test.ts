// Opening objects: verifier failures, pinned maps that survive a restart,
// pinned programs, shared maps; and nothing left on bpffs afterwards.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, renameSync } from 'node:fs';
import { leftovers } from '../testing/leftovers.js';
import { bpfObjectPath } from '../testing/paths.js';
import { structCodec, u32, u64 } from './codec.js';
import { BpfError, VerifierError, WrongSizeError } from './errors.js';
import { trimVerifierLog } from './libbpf-log.js';
import { BpfMap } from './map.js';
import { BpfObject } from './object.js';
import { DEFAULT_PIN_DIR, removePinDir } from './pin.js';
import { BpfProgram } from './program.js';
import { runProgram, TC_ACT } from './test-run.js';

const OBJ = bpfObjectPath('test_counter');
const OBJ_V2 = bpfObjectPath('test_counter_v2');
const PIN_DIR = `${DEFAULT_PIN_DIR}/test-loader-${process.pid}`;
const CrudKey = structCodec({ name: 'crud_key', size: 8, fields: { addr: [0, 'ipv4'], port: [4, 'be16'], proto: [6, 'u8'] } });
const CrudValue = structCodec({ name: 'crud_value', size: 24, fields: { hits: [0, 'u64'], mac: [8, 'mac'], flags: [14, 'u16'], backend_id: [16, 'u32'] } });
const CrudValueV2 = structCodec({ name: 'crud_value', size: 24, fields: { hits: [0, 'u64'], backend_id: [8, 'u32'], mac: [12, 'mac'], flags: [18, 'u16'], generation: [20, 'u32'] } });
const k = { addr: '10.96.0.10', port: 53, proto: 17 };
const v = { hits: 42n, mac: '02:00:00:00:00:09', flags: 1, backend_id: 7 };

describe('BpfObject', () => {
  const opened: Array<{ close(): void }> = [];
  const track = <T extends { close(): void }>(x: T): T => (opened.push(x), x);
  after(() => {
    for (const o of opened.reverse()) o.close();
    removePinDir(PIN_DIR);
  });

  it('reports the verifier log, trimmed, and the rejected program when loading fails', () => {
    assert.throws(
      () => BpfObject.open(OBJ, { autoload: { rejected: true } }),
      (e: unknown) => {
        assert.ok(e instanceof VerifierError, String(e));
        assert.equal(e.program, 'rejected');
        assert.equal(e.call, 'bpf_object__load');
        assert.equal(e.code, 'EACCES');
        assert.match(e.log, /invalid access to packet/);
        assert.doesNotMatch(e.log, /^processed \d+ insns/m);
        assert.match(e.message, /program 'rejected' rejected by the verifier/);
        assert.ok(e.fullLog.length >= e.log.length);
        return true;
      },
    );
  });

  it('trims long verifier logs to the tail that explains the rejection', () => {
    const log = [...Array.from({ length: 500 }, (_, i) => `${i}: (b7) r0 = 0`), 'R1 invalid mem access', 'processed 501 insns (limit 1000000) max_states_per_insn 0', ''].join('\n');
    const t = trimVerifierLog(log, 10).split('\n');
    assert.equal(t.length, 11);
    assert.equal(t[0], '... (491 earlier lines omitted)');
    assert.equal(t.at(-1), 'R1 invalid mem access');
  });

  it('names the object, the call and the errno for other failures', () => {
    assert.throws(() => BpfObject.open('/nonexistent/x.bpf.o'), (e: unknown) => e instanceof BpfError && e.call === 'bpf_object__open_file' && e.code === 'ENOENT' && e.message.includes('/nonexistent/x.bpf.o'));
    const obj = track(BpfObject.open(OBJ));
    assert.deepEqual(obj.programNames().sort(), ['count_packets', 'rejected', 'ttl_or_drop']);
    assert.throws(() => obj.program('nope'), /program nope.*count_packets/);
    assert.throws(() => obj.map('nope', u32, u64), /map nope/);
    assert.throws(() => BpfObject.open(OBJ, { autoload: { nope: true } }), /autoload names a program the object does not have/);
    assert.throws(() => obj.program('rejected').fd, /not loaded/);
  });

  it('pins maps by name and layout version and reuses them when the object is opened again (an agent restart)', () => {
    const first = BpfObject.open(OBJ, { pinDir: PIN_DIR });
    const pins = readdirSync(PIN_DIR).sort();
    assert.deepEqual(pins.map((n) => n.replace(/-v[0-9a-f]{8}$/, '')), ['bench', 'counters', 'crud', 'last_shim', 'percpu_drops'], pins.join(' '));
    assert.equal(first.pinPath('crud'), `${PIN_DIR}/${pins[2]}`);
    first.map('crud', CrudKey, CrudValue).update(k, v);
    first.close();

    const second = track(BpfObject.open(OBJ, { pinDir: PIN_DIR }));
    assert.deepEqual(second.map('crud', CrudKey, CrudValue).get(k), v);
  });

  it('says how a pinned map differs from the object, and replaces it only when asked', () => {
    const other = BpfObject.open(OBJ, { pinDir: `${PIN_DIR}/other`, maxEntries: { crud: 16 } });
    const path = other.pinPath('crud')!;
    other.close();
    assert.throws(
      () => BpfObject.open(OBJ, { pinDir: `${PIN_DIR}/other` }),
      (e: unknown) => e instanceof BpfError && /map crud pinned at .*maxEntries 16 pinned, 8 in the object/.test(e.message),
    );
    const replaced = BpfObject.open(OBJ, { pinDir: `${PIN_DIR}/other`, replaceIncompatiblePins: true });
    const reopened = BpfMap.openPinned(path, CrudKey, CrudValue);
    assert.equal(reopened.info.maxEntries, 8);
    reopened.close();
    replaced.close();
    removePinDir(`${PIN_DIR}/other`);
  });

  it('moves the entries of a pin of an older layout (same size, fields moved, one added) into the new map, and removes the old pin', () => {
    const dir = `${PIN_DIR}/upgrade`;
    const v1 = BpfObject.open(OBJ, { pinDir: dir });
    v1.map('crud', CrudKey, CrudValue).update(k, v);
    v1.map('crud', CrudKey, CrudValue).update({ ...k, port: 54 }, { ...v, backend_id: 8 });
    const oldPin = v1.pinPath('crud')!;
    v1.close();
    const v2 = BpfObject.open(OBJ_V2, { pinDir: dir });
    try {
      assert.notEqual(v2.pinPath('crud'), oldPin, 'a new layout, a new pin name');
      assert.deepEqual(v2.migrations.filter((m) => m.map === 'crud').map((m) => [m.from, m.to, m.copied, m.dropped]), [[oldPin, v2.pinPath('crud'), 2, 0]]);
      assert.ok(!existsSync(oldPin), 'the old pin is removed');
      const crud = v2.map('crud', CrudKey, CrudValueV2);
      assert.deepEqual(crud.get(k), { ...v, generation: 0 });
      assert.deepEqual(crud.get({ ...k, port: 54 }), { ...v, backend_id: 8, generation: 0 });
    } finally {
      v2.close();
      removePinDir(dir);
    }
  });

  it('takes over the unversioned pins of earlier releases, entries included', () => {
    const dir = `${PIN_DIR}/legacy`;
    const before = BpfObject.open(OBJ, { pinDir: dir });
    before.map('crud', CrudKey, CrudValue).update(k, v);
    const versioned = before.pinPath('crud')!;
    before.close();
    renameSync(versioned, `${dir}/crud`);
    const after = BpfObject.open(OBJ, { pinDir: dir });
    try {
      assert.deepEqual(after.migrations.find((m) => m.map === 'crud')?.copied, 1);
      assert.ok(!existsSync(`${dir}/crud`) && existsSync(versioned));
      assert.deepEqual(after.map('crud', CrudKey, CrudValue).get(k), v);
    } finally {
      after.close();
      removePinDir(dir);
    }
  });

  it('reopens a pinned map after everything was closed, checking the codec sizes', () => {
    const pins = Object.fromEntries(readdirSync(PIN_DIR).map((n) => [n.replace(/-v[0-9a-f]{8}$/, ''), `${PIN_DIR}/${n}`]));
    for (const o of opened.splice(0).reverse()) o.close();
    const crud = track(BpfMap.openPinned(pins.crud!, CrudKey, CrudValue));
    assert.equal(crud.name, 'crud');
    assert.equal(crud.info.maxEntries, 8);
    assert.deepEqual(crud.get(k), v);
    assert.throws(() => BpfMap.openPinned(pins.crud!, u32, CrudValue), WrongSizeError);
    const drops = track(BpfMap.openPinnedPerCpu(pins.percpu_drops!, u32, u64));
    assert.equal(drops.perCpu, true);
    assert.throws(() => BpfMap.openPinned(pins.percpu_drops!, u32, u64), /per-CPU/);
    assert.throws(() => BpfMap.openPinned(`${PIN_DIR}/nope`, u32, u64), (e: unknown) => e instanceof BpfError && e.call === 'bpf_obj_get' && e.code === 'ENOENT');
  });

  it('pins a program, which keeps running after its object is closed', () => {
    const obj = BpfObject.open(OBJ);
    obj.program('ttl_or_drop').pin(`${PIN_DIR}/progs/ttl_or_drop`);
    obj.close();
    const prog = track(BpfProgram.openPinned(`${PIN_DIR}/progs/ttl_or_drop`));
    const frame = Buffer.alloc(64);
    assert.equal(runProgram(prog, frame).verdict, TC_ACT.OK);
    assert.equal(prog.unpin(`${PIN_DIR}/progs/ttl_or_drop`), true);
    assert.equal(prog.unpin(`${PIN_DIR}/progs/ttl_or_drop`), false);
  });

  it('resizes maps before they are created', () => {
    const obj = track(BpfObject.open(OBJ, { maxEntries: { crud: 100 } }));
    assert.equal(obj.mapInfo('crud').maxEntries, 100);
    const crud = obj.map('crud', CrudKey, CrudValue);
    crud.updateBatch(Array.from({ length: 100 }, (_, i) => [{ ...k, port: i }, v] as const));
    assert.equal([...crud.keys()].length, 100);
    assert.throws(() => BpfObject.open(OBJ, { maxEntries: { nope: 1 } }), /map nope.*no such map/);
  });

  it('shares a map between two objects with reuseMaps', () => {
    const a = track(BpfObject.open(OBJ));
    const shared = a.map('crud', CrudKey, CrudValue);
    shared.update(k, v);
    const b = track(BpfObject.open(OBJ, { reuseMaps: { crud: shared } }));
    assert.deepEqual(b.map('crud', CrudKey, CrudValue).get(k), v);
  });

  it('leaves no pin and no process behind', () => {
    for (const o of opened.splice(0).reverse()) o.close();
    removePinDir(PIN_DIR);
    assert.deepEqual(leftovers({ pinDir: PIN_DIR }), []);
    // The shared parent goes too, unless another component still has pins in it.
    if (existsSync(DEFAULT_PIN_DIR)) assert.ok(readdirSync(DEFAULT_PIN_DIR).length > 0);
  });
});
