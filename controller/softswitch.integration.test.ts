// The controller against the real software switch target (the eBPF maps of
// bpf/switch.bpf.c behind the P4Runtime server; no ports attached): what the
// controller writes is accepted by the target, read back identically, and a
// restart of the controller writes nothing. Skipped without root or without
// build/bpf/switch.bpf.o (make -C bpf ../build/bpf/switch.bpf.o).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { SWITCH_OBJECT, SwitchDatapath } from '../p4/softswitch/datapath.js';
import { EbpfTarget } from '../p4/softswitch/ebpf-target.js';
import { Harness, until } from './test-harness.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync(SWITCH_OBJECT) ? `${SWITCH_OBJECT} not built` : false;

void describe('controller against the eBPF software switch target', { skip }, () => {
  const datapaths: SwitchDatapath[] = [];
  const h = new Harness(() => {
    const datapath = SwitchDatapath.load();
    datapaths.push(datapath);
    return new EbpfTarget({ datapath });
  });
  before(() => h.start());
  after(async () => {
    await h.stop();
    for (const d of datapaths) d.close();
  });

  void it('programs, scales and survives a controller restart without rewriting', async () => {
    await h.node('node-1', 1);
    await h.service('web', '10.96.0.10', { type: 'NodePort', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] });
    await h.slice('web', ['10.244.1.5', '10.244.1.6', '10.244.1.7']);
    const a = await h.controller();
    await until('programmed', async () => (await h.switchState()).has('frontend 198.18.0.1 30080 TCP'));
    // Backends are keyed by frontend id; the API server's `kubernetes` Service has one too.
    const web = ((await h.switchState()).get('frontend 198.18.0.1 30080 TCP') as { frontendId: number }).frontendId;
    await h.slice('web', ['10.244.1.5'], ['10.244.1.6']);
    await until('scaled down', async () => !(await h.switchState()).has(`backend ${web} 3`));
    const s = await h.switchState();
    assert.deepEqual(s.get('group 1'), { type: 'group', groupId: 1, members: [1] });
    assert.ok(s.has(`backend ${web} 2`), 'terminating backend kept for pinned connections');
    await h.stopController(a);
    const b = await h.controller();
    await until('b synced', () => b.syncer.lastStats !== undefined);
    assert.equal(b.syncer.lastStats?.inserts, 0);
    assert.equal(b.syncer.lastStats?.modifies, 0);
    assert.equal(b.syncer.lastStats?.deletes, 0);
    assert.deepEqual(await h.switchState(), s);
    await h.stopController(b);
  });
});
