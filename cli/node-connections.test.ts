// `talaria node connections` on real pinned maps: entries written into a
// node agent's maps are read back from the pins alone and named.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { removePinDir } from '../bpf/loader/pin.js';
import { HostDatapath } from '../nodeagent/datapath.js';
import { desiredInputFromObjects } from '../controller/desired/from-objects.js';
import { namesFrom, readNodeEntries, renderNodeEntries } from './node-connections.js';

const PIN_DIR = `/sys/fs/bpf/talaria/tl-nc-${process.pid}`;

void describe('talaria node connections', { skip: process.getuid?.() !== 0 && 'needs root (bpf)' }, () => {
  after(() => removePinDir(PIN_DIR));

  void it('reads the connection, reply and affinity entries from the pins and names Services and pods', () => {
    const dp = HostDatapath.open({ pinDir: PIN_DIR });
    const now = process.hrtime.bigint();
    try {
      dp.conns.update({ saddr: '10.244.1.2', daddr: '10.96.0.10', sport: 40000, dport: 80, proto: 6 }, { last_seen_ns: now - 5_000_000_000n, frontend_id: 7, backend_id: 3, nat_addr: '0.0.0.0', nat_port: 0, flags: 0 });
      dp.replies.update({ saddr: '10.244.1.3', daddr: '10.244.2.9', sport: 8080, dport: 51000, proto: 6 }, { last_seen_ns: now, frontend_id: 7, backend_id: 4, orig_saddr: '10.244.2.9', fe_addr: '10.96.0.10', fe_port: 80, flags: 0 });
      dp.affinity.update({ client: '10.244.1.2', fe: { addr: '10.96.0.10', port: 80, proto: 6 } }, { last_seen_ns: now, frontend_id: 7, backend_id: 3, nat_addr: '0.0.0.0', nat_port: 0, flags: 0 });
    } finally {
      dp.close();
    }
    const entries = readNodeEntries(PIN_DIR);
    assert.deepEqual([entries.conns.length, entries.replies.length, entries.affinity.length], [1, 1, 1]);
    const svc: V1Service = { metadata: { namespace: 'default', name: 'web', creationTimestamp: new Date(0) }, spec: { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } };
    const node: V1Node = { metadata: { name: 'n1' } };
    const names = namesFrom(desiredInputFromObjects({ services: [svc], slices: [], nodes: [node] }), [{ ip: '10.244.1.2', name: 'default/client' }, { ip: '10.244.1.3', name: 'default/web-1' }]);
    const text = renderNodeEntries(entries, names, process.hrtime.bigint());
    assert.match(text, /^ {2}10\.244\.1\.2:40000 \(default\/client\) -> default\/web:http\/TCP 10\.96\.0\.10:80\/TCP -> backend 3 of frontend 7, idle [56]s$/m);
    assert.match(text, /^ {2}10\.244\.1\.3:8080 \(default\/web-1\) -> 10\.244\.2\.9:51000 for default\/web:http\/TCP 10\.96\.0\.10:80\/TCP, idle 0s$/m);
    assert.match(text, /^ClientIP affinity \(1\):\n {2}10\.244\.1\.2 \(default\/client\) -> default\/web:http\/TCP/m);
  });

  void it('says where it looked when the directory holds no agent maps', () => {
    assert.throws(() => readNodeEntries('/sys/fs/bpf'), /\/sys\/fs\/bpf: no tl_host_conns pinned here \(is this the node agent's --pin-dir\?\)/);
  });
});
