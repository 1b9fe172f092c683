import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HostDatapath } from './datapath.js';
import { syncMap } from './map-sync.js';
import type { HostFrontend, HostFrontendKey } from '../bpf/layouts/host-maps.js';
import { frontendKeyString } from './desired-state.js';

let dp: HostDatapath;
const fe = (addr: string, port: number): readonly [HostFrontendKey, HostFrontend] => [{ addr, port, proto: 6 }, { flags: 1, affinity_timeout_s: 0, local_count: 0 }];
const want = (...e: Array<readonly [HostFrontendKey, HostFrontend]>) => new Map(e.map((x) => [frontendKeyString(x[0]), x] as const));

describe('syncMap (on a real, unpinned BPF map)', () => {
  before(() => (dp = HostDatapath.open({})));
  after(() => dp.close());

  it('writes what is missing or different, deletes leftovers, leaves equal entries alone', () => {
    const r1 = syncMap(dp.frontends, want(fe('10.96.0.1', 80), fe('10.96.0.2', 80)), frontendKeyString);
    assert.deepEqual([r1.updated, r1.deleted, r1.entries], [2, 0, 2]);
    const changed = fe('10.96.0.2', 80);
    const r2 = syncMap(dp.frontends, want([changed[0], { ...changed[1], flags: 3 }], fe('10.96.0.3', 53)), frontendKeyString);
    assert.deepEqual([r2.updated, r2.deleted, r2.entries, r2.errors.length], [2, 1, 2, 0]);
    assert.equal(dp.frontends.get({ addr: '10.96.0.2', port: 80, proto: 6 }).flags, 3);
    assert.equal(dp.frontends.lookup({ addr: '10.96.0.1', port: 80, proto: 6 }), undefined);
  });

  it('upsert and delete phases can be split', () => {
    dp.frontends.clear();
    dp.frontends.update(...fe('10.96.0.9', 80));
    const r = syncMap(dp.frontends, want(fe('10.96.0.1', 80)), frontendKeyString, 'upsert');
    assert.deepEqual([r.updated, r.deleted, r.entries], [1, 0, 2]);
    const d = syncMap(dp.frontends, want(fe('10.96.0.1', 80)), frontendKeyString, 'delete');
    assert.deepEqual([d.updated, d.deleted, d.entries], [0, 1, 1]);
  });

  it('a failing entry is reported by name; the others still apply', () => {
    dp.frontends.clear();
    const bad = [{ addr: 'not-an-ip', port: 1, proto: 6 }, fe('10.96.0.1', 1)[1]] as const;
    const r = syncMap(dp.frontends, new Map([['bad', bad], [frontendKeyString(fe('10.96.0.5', 80)[0]), fe('10.96.0.5', 80)]]), frontendKeyString);
    assert.equal(r.updated, 1);
    assert.deepEqual(r.errors.map((e) => e.key), ['bad']);
  });
});
