// The topology on real namespaces: pods reach each other across nodes in
// both layouts, and teardown leaves nothing with the prefix.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

// A prefix of our own so that a user's testbed is never touched.
process.env.TALARIA_TESTBED_PREFIX = `tl-tb-${process.pid}-`;
const { addPodNetwork, createTopology, destroyTopology } = await import('./topology.js');
const { nodeAddressing, podHostVeth } = await import('./addressing.js');
const { echoArgv } = await import('../images/images.js');
const { listNetns, run } = await import('./exec.js');
const prefix = process.env.TALARIA_TESTBED_PREFIX;

async function curl(ns: string, url: string): Promise<string> {
  const r = await run(['ip', 'netns', 'exec', ns, 'curl', '-s', '--max-time', '3', url], { allowFailure: true });
  return r.stdout;
}

async function waitFor(fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const mode of ['iptables', 'talaria'] as const) {
  describe(`topology (${mode} layout)`, () => {
    after(async () => {
      await destroyTopology(prefix);
    });

    it('wires nodes, pods and the external client', async () => {
      const topo = await createTopology({ mode, nodes: 2 });
      assert.deepEqual(topo.switchPorts, ['sw-n1', 'sw-n2', 'sw-ext']);
      const n1 = nodeAddressing(1);
      const n2 = nodeAddressing(2);
      const a = `${prefix}pod-a`;
      const b = `${prefix}pod-b`;
      await addPodNetwork({ node: n1, netns: a, hostVeth: podHostVeth('default', 'a'), ip: '10.244.1.2' });
      await addPodNetwork({ node: n2, netns: b, hostVeth: podHostVeth('default', 'b'), ip: '10.244.2.2' });
      const argv = ['ip', 'netns', 'exec', b, ...echoArgv(['--pod', 'b', '--node', 'node-2', '--tcp', '8080'])];
      const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
      try {
        // In the baseline layout pod traffic crosses the VXLAN overlay; the
        // talaria layout has no forwarding in the switch without the software
        // switch, so only same-link traffic is checked there.
        if (mode === 'iptables') {
          await waitFor(async () => (await curl(a, 'http://10.244.2.2:8080/')).includes('"pod":"b"'));
        }
        await waitFor(async () => (await curl(n2.netns, 'http://10.244.2.2:8080/')).includes('"node":"node-2"'));
        const neigh = await run(['ip', '-n', n1.netns, 'neigh', 'show', 'dev', 'eth0']);
        if (mode === 'talaria') assert.match(neigh.stdout, new RegExp(`198\\.18\\.1\\.1 lladdr ${n1.switchPortMac} PERMANENT`));
        if (mode === 'iptables') {
          // A Service IP passes the route lookup (default gateway) so that kube-proxy's REJECT is reached;
          // the external client reaches ExternalIPs through node 1.
          assert.match((await run(['ip', '-n', n1.netns, 'route', 'get', '10.96.0.10'])).stdout, /via 198\.18\.0\.1 dev eth0/);
          assert.match((await run(['ip', '-n', `${prefix}external`, 'route', 'get', '198.19.200.10'])).stdout, /via 198\.18\.1\.2 dev eth0/);
        }
      } finally {
        child.kill('SIGKILL');
      }
      await destroyTopology(prefix);
      assert.deepEqual(await listNetns(prefix), []);
    });
  });
}
