import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HostDatapath } from './datapath.js';
import { collectIdle } from './gc.js';
import { HOST_CONN_F_CLOSING } from '../bpf/layouts/host-maps.js';

let dp: HostDatapath;
const S = 1_000_000_000n;
const NOW = 10_000n * S;
const conn = (lastSeenS: bigint, flags = 0) => ({ last_seen_ns: NOW - lastSeenS * S, frontend_id: 1, backend_id: 2, nat_addr: '0.0.0.0', nat_port: 0, flags });
const flow = (sport: number, proto = 6) => ({ saddr: '10.244.1.2', daddr: '10.96.0.10', sport, dport: 80, proto });

describe('idle entry collection', () => {
  before(() => (dp = HostDatapath.open({})));
  after(() => dp.close());

  it('expires by protocol, closing state and affinity timeout', () => {
    const t = { tcpS: 100, tcpClosingS: 10, udpS: 30 };
    const table: Array<[string, number, number, bigint, number, boolean]> = [
      // name, sport, proto, idle seconds, flags, kept
      ['busy TCP', 1, 6, 5n, 0, true],
      ['idle TCP under its timeout', 2, 6, 99n, 0, true],
      ['idle TCP past its timeout', 3, 6, 101n, 0, false],
      ['closing TCP past the short timeout', 4, 6, 11n, HOST_CONN_F_CLOSING, false],
      ['closing TCP still fresh', 5, 6, 9n, HOST_CONN_F_CLOSING, true],
      ['UDP past its timeout', 6, 17, 31n, 0, false],
      ['UDP fresh', 7, 17, 29n, 0, true],
    ];
    for (const [, sport, proto, idle, flags] of table) dp.conns.update(flow(sport, proto), conn(idle, flags));
    const aff = { client: '10.244.1.2', fe: { addr: '10.96.0.10', port: 80, proto: 6 } };
    const affGone = { client: '10.244.1.3', fe: { addr: '10.96.0.11', port: 80, proto: 6 } };
    dp.affinity.update(aff, conn(50n));
    dp.affinity.update(affGone, conn(1n));
    const s = collectIdle(dp, NOW, t, (fe) => (fe.addr === '10.96.0.10' ? 60 : undefined));
    for (const [name, sport, proto, , , kept] of table) assert.equal(dp.conns.lookup(flow(sport, proto)) !== undefined, kept, name);
    assert.deepEqual(s.conns, { entries: 4, deleted: 3 });
    assert.ok(dp.affinity.lookup(aff), 'affinity within its timeout stays');
    assert.equal(dp.affinity.lookup(affGone), undefined, 'affinity of a frontend without affinity goes');
  });
});
