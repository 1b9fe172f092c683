// Bad input is logged with the object's name and counted, and everything
// else is still served: a pod without an IP, a pod whose interface is not in
// the kernel, a full pod map.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_MAPS } from '../bpf/layouts/host-maps.js';
import { MiniCluster } from './testing/mini-cluster.js';
import { AgentHarness, until } from './testing/agent-harness.js';

const prefix = `tl-nai-${process.pid}`;
const cluster = new MiniCluster(prefix);
const h = new AgentHarness(cluster, `/sys/fs/bpf/talaria/${prefix}`);

describe('node agent with bad input', { skip: process.getuid?.() !== 0 && 'needs root (network namespaces, bpf)', timeout: 120_000 }, () => {
  before(async () => {
    await cluster.up(1);
    await cluster.addPod('a', 1, 2);
    await cluster.addPod('b', 1, 3);
    await h.startApi();
    // Running without an IP; and one with an IP no veth leads to.
    await h.pod('noip', 'node-1');
    await h.pod('ghost', 'node-1', '10.244.1.77');
  });
  after(() => h.stop());

  it('logs and counts each problem by name and serves the rest', async () => {
    // Room for one pod only.
    const agent = await h.startAgent(1, { maxEntries: { [HOST_MAPS.pods]: 1 }, expectPods: 1 });
    const { registry } = h.agents.get('node-1')!;
    await until('all three problems to be reported', async () => {
      const m = await registry.metrics();
      return ['pod_without_ip', 'interface_not_found', 'map_full'].every((k) => new RegExp(`talaria_nodeagent_bad_input_total\\{kind="${k}"\\} 1`).test(m));
    });
    for (const re of [/pod_without_ip: default\/noip/, /interface_not_found: default\/ghost/, /map_full: tl_host_pods 10\.244\.1\.[23]/]) {
      assert.ok(h.logs.some((l) => re.test(l)), `${re} in ${JSON.stringify(h.logs)}`);
    }
    // The pod that fit is served, and the agent keeps syncing.
    const placed = [...agent.datapath.pods.keys()];
    assert.equal(placed.length, 1);
    const before = agent.syncCount;
    await h.api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ port: 80 }] } });
    await until('the Service to be programmed', () => agent.syncCount > before && agent.datapath.frontends.lookup({ addr: '10.96.0.10', port: 80, proto: 6 }) !== undefined);
  });
});
