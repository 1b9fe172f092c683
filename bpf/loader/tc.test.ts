// TC attach/detach on a veth inside fresh namespaces, with real traffic.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { leftovers } from '../testing/leftovers.js';
import { createNetnsPair } from '../testing/netns-pair.js';
import type { NetnsPair } from '../testing/netns-pair.js';
import { bpfObjectPath } from '../testing/paths.js';
import { structCodec } from './codec.js';
import { BpfError } from './errors.js';
import { withNetns, ifIndex } from './netns.js';
import { BpfObject } from './object.js';
import { enableBpfStats, programStats } from './stats.js';
import type { StatsHandle } from './stats.js';
import { attachTc, destroyClsact, detachTc, queryTc } from './tc.js';

const PREFIX = 'tl-ldr-tc';
const CounterKey = structCodec({ name: 'counter_key', size: 4, fields: { eth_proto: [0, 'be16'], ip_proto: [2, 'u8'] } });
const CounterValue = structCodec({ name: 'counter_value', size: 16, fields: { packets: [0, 'u64'], bytes: [8, 'u64'] } });

function tc(ns: string, args: string[]): string {
  return execFileSync('tc', ['-n', ns, ...args], { encoding: 'utf8' });
}

/** Sends `count` UDP datagrams from a real process inside namespace `ns`. */
function sendUdp(ns: string, dst: string, count: number, size: number): void {
  const script = `
    const s = require('node:dgram').createSocket('udp4');
    let left = ${count};
    const next = () => left-- > 0 ? s.send(Buffer.alloc(${size}), 9999, '${dst}', next) : s.close();
    next();`;
  execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: 'ignore', timeout: 30_000 });
}

describe('TC attach in a namespace', () => {
  let pair: NetnsPair;
  let obj: BpfObject;
  let stats: StatsHandle;

  before(() => {
    pair = createNetnsPair(PREFIX);
    obj = BpfObject.open(bpfObjectPath('test_counter'));
    stats = enableBpfStats();
  });

  after(() => {
    stats?.close();
    obj?.close();
    pair?.remove();
  });

  it('attaches idempotently: twice is one filter, running the latest program', () => {
    const target = { ifname: pair.ifB, netns: pair.b, direction: 'ingress' as const };
    attachTc({ ...target, program: obj.program('ttl_or_drop') });
    const second = attachTc({ ...target, program: obj.program('count_packets') });
    const filters = tc(pair.b, ['filter', 'show', 'dev', pair.ifB, 'ingress']).split('\n').filter((l) => / bpf .*handle /.test(l));
    assert.equal(filters.length, 1, filters.join('\n'));
    assert.match(filters[0]!, /count_packets/);
    assert.equal(queryTc(target), second.progId);
    assert.ok(second.ifindex > 0);
  });

  it('counts real traffic between the namespaces in the map', () => {
    const counters = obj.map('counters', CounterKey, CounterValue);
    counters.clear();
    const before = programStats(obj.program('count_packets')).runCount;
    sendUdp(pair.a, pair.ipB, 5, 100);
    const udp = counters.get({ eth_proto: 0x0800, ip_proto: 17 });
    assert.equal(udp.packets, 5n);
    assert.equal(udp.bytes, 5n * BigInt(14 + 20 + 8 + 100));
    assert.ok(counters.lookup({ eth_proto: 0x0806, ip_proto: 0 }), 'ARP was counted too');
    assert.ok(programStats(obj.program('count_packets')).runCount >= before + 5, 'kernel stats count the runs');
  });

  it('attaches on egress independently of ingress', () => {
    const target = { ifname: pair.ifA, netns: pair.a, direction: 'egress' as const, priority: 7, handle: 3 };
    assert.equal(queryTc(target), undefined);
    const att = attachTc({ ...target, program: obj.program('count_packets') });
    assert.equal(att.priority, 7);
    assert.equal(queryTc(target), att.progId);
    assert.equal(queryTc({ ...target, direction: 'ingress' }), undefined);
    assert.equal(detachTc(target), true);
  });

  it('detaches idempotently and removes the clsact qdisc', () => {
    const target = { ifname: pair.ifB, netns: pair.b, direction: 'ingress' as const };
    assert.equal(detachTc(target), true);
    assert.equal(detachTc(target), false);
    assert.equal(tc(pair.b, ['filter', 'show', 'dev', pair.ifB, 'ingress']).trim(), '');
    assert.equal(destroyClsact({ ifname: pair.ifB, netns: pair.b }), true);
    assert.equal(destroyClsact({ ifname: pair.ifB, netns: pair.b }), false);
    assert.doesNotMatch(tc(pair.b, ['qdisc', 'show', 'dev', pair.ifB]), /clsact/);
    destroyClsact({ ifname: pair.ifA, netns: pair.a });
  });

  it('names the interface and namespace when the interface is missing', () => {
    assert.throws(
      () => attachTc({ ifname: 'nosuchif0', netns: pair.a, direction: 'ingress', program: obj.program('count_packets') }),
      (e: unknown) => e instanceof BpfError && e.code === 'ENODEV' && e.message.includes(`nosuchif0 in netns ${pair.a}`),
    );
  });

  it('withNetns enters the namespace and always comes back', () => {
    const home = readlinkSync('/proc/thread-self/ns/net');
    const inside = withNetns(pair.a, () => ({ ns: readlinkSync('/proc/thread-self/ns/net'), ifindex: ifIndex(pair.ifA) }));
    assert.notEqual(inside.ns, home);
    assert.ok(inside.ifindex > 0);
    assert.throws(() => withNetns(pair.b, () => { throw new Error('boom'); }), /boom/);
    assert.equal(readlinkSync('/proc/thread-self/ns/net'), home);
    assert.throws(() => withNetns(pair.a, () => Promise.resolve(1)), /synchronous/);
    assert.equal(readlinkSync('/proc/thread-self/ns/net'), home);
    assert.throws(() => withNetns(`${PREFIX}-nonexistent`, () => 1), (e: unknown) => e instanceof BpfError && e.code === 'ENOENT');
  });

  it('leaves no namespace, qdisc or process behind', () => {
    stats.close();
    obj.close();
    pair.remove();
    assert.deepEqual(leftovers({ netnsPrefix: `${PREFIX}-${process.pid}` }), []);
  });
});
