// The testbed end to end, through its command line, on real namespaces: in
// both baseline modes a pod reaches a ClusterIP and a NodePort, the external
// client reaches a NodePort, traffic spreads over the endpoints, scaling the
// Deployment changes endpoints and rules; `down` leaves nothing; a failed
// `up` cleans up after itself. A prefix and state directory of our own keep a
// user's testbed out of reach.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { talariaArgv } from '../cli/self.js';
import { run } from './network/exec.js';
import { iptablesVariant } from './kube-proxy.js';
import { isAlive } from './processes.js';
import type { TestbedSummary } from './summary.js';

const prefix = `tl-tb-${process.pid}-`;
const env = { ...process.env, TALARIA_TESTBED_PREFIX: prefix, TALARIA_TESTBED_STATE_DIR: `/tmp/${prefix}state` };

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  const [cmd, ...rest] = talariaArgv(['testbed', ...args]);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, rest, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  assert.equal(r.code, 0, `talaria testbed ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function status(): Promise<TestbedSummary> {
  return JSON.parse(await ok(['status', '--json'])) as TestbedSummary;
}

async function netnsLeft(): Promise<string[]> {
  const out = await run(['ip', 'netns', 'list']);
  return out.stdout.split('\n').filter((l) => l.startsWith(prefix));
}

/** GET http://addr/ from a namespace; the echo pod's JSON or undefined. */
async function get(netns: string, url: string): Promise<{ pod: string; node: string; client: string } | undefined> {
  const r = await run(['ip', 'netns', 'exec', netns, 'curl', '-s', '--max-time', '3', url], { allowFailure: true });
  try {
    return JSON.parse(r.stdout) as { pod: string; node: string; client: string };
  } catch {
    return undefined;
  }
}

async function udp(netns: string, host: string, port: number): Promise<string> {
  const js = `const s=require('dgram').createSocket('udp4');s.on('message',(m)=>{console.log(m.toString());process.exit(0)});s.send('hi',${port},'${host}');setTimeout(()=>process.exit(1),3000)`;
  const r = await run(['ip', 'netns', 'exec', netns, process.execPath, '-e', js], { allowFailure: true });
  return r.stdout;
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function cleanup(): Promise<void> {
  await cli(['down']);
}

for (const mode of ['iptables', 'nftables'] as const) {
  describe(`testbed in ${mode} mode`, () => {
    let tb: TestbedSummary;
    before(async () => {
      await cleanup();
      tb = JSON.parse(await ok(['up', '--mode', mode, '--nodes', '2', '--pods-per-node', '2', '--json'])) as TestbedSummary;
    });
    after(cleanup);

    const echo = (): TestbedSummary['services'][number] => tb.services.find((s) => s.name === 'echo')!;
    const client = (): TestbedSummary['pods'][number] => tb.pods.find((p) => p.node === 'node-1')!;

    it('reports the cluster in the JSON contract', () => {
      assert.equal(tb.mode, mode);
      assert.deepEqual(tb.nodes.map((n) => [n.name, n.netns, n.ip, n.podCIDR]), [
        ['node-1', `${prefix}node-1`, '198.18.1.2', '10.244.1.0/24'],
        ['node-2', `${prefix}node-2`, '198.18.2.2', '10.244.2.0/24'],
      ]);
      assert.equal(tb.pods.length, 4);
      assert.ok(tb.pods.every((p) => p.ready && p.ip?.startsWith('10.244.') && p.netns.startsWith(`${prefix}pod-`)));
      assert.deepEqual(tb.switch, { netns: `${prefix}switch`, p4runtime: null, reader: null, target: null });
      assert.deepEqual(tb.external, { netns: `${prefix}external`, ip: '198.19.0.2' });
      assert.match(echo().clusterIP, /^10\.(9[6-9]|10[0-9]|11[01])\./);
      assert.ok(echo().ports.every((p) => p.nodePort !== null && p.nodePort >= 30000));
      assert.equal(existsSync(tb.kubeconfig!), true);
    });

    it('a pod reaches the ClusterIP, spread over the endpoints, over TCP and UDP', async () => {
      // kube-proxy programs the endpoints within its sync period after they turn ready.
      const seen = new Set<string>();
      for (const end = Date.now() + 30_000; Date.now() < end && seen.size < 2; ) {
        const r = await get(client().netns, `http://${echo().clusterIP}/`);
        assert.ok(r, `no answer from ClusterIP ${echo().clusterIP}`);
        seen.add(r.pod);
      }
      assert.ok(seen.size >= 2, `every request went to ${[...seen].join(', ')}`);
      assert.match(await udp(client().netns, echo().clusterIP, 80), /"pod":"echo-/);
    });

    it('a pod reaches itself through the ClusterIP (hairpin)', async () => {
      // The proxy programs the client's own endpoint when its sync gets to it
      // (a loaded machine took longer than 60 quick requests): ask for 20 s.
      let self = false;
      for (const deadline = Date.now() + 20_000; !self && Date.now() < deadline; ) {
        const r = await get(client().netns, `http://${echo().clusterIP}/`);
        assert.ok(r, 'a request through the ClusterIP got no answer');
        self = r.pod === client().name;
      }
      assert.ok(self, 'in 20 s the ClusterIP never sent the client to itself');
    });

    it('a pod and the external client reach the NodePort of every node', async () => {
      const nodePort = echo().ports.find((p) => p.protocol === 'TCP')!.nodePort!;
      for (const n of tb.nodes) {
        assert.ok(await get(client().netns, `http://${n.ip}:${nodePort}/`), `pod -> ${n.ip}:${nodePort}`);
        const r = await get(tb.external.netns, `http://${n.ip}:${nodePort}/`);
        assert.ok(r, `external -> ${n.ip}:${nodePort}`);
        // kube-proxy masquerades external NodePort traffic: the pod sees a node address.
        assert.doesNotMatch(r.client, /^198\.19\.0\.2:/);
      }
      const udpPort = echo().ports.find((p) => p.protocol === 'UDP')!.nodePort!;
      assert.match(await udp(tb.external.netns, tb.nodes[1]!.ip, udpPort), /"pod":"echo-/);
    });

    it('scaling the Deployment changes the endpoints and the rules', async () => {
      await ok(['scale', 'echo', '--replicas', '1']);
      tb = await eventually('one echo pod', async () => {
        const s = await status();
        return s.pods.length === 1 && s.pods[0]!.ready ? s : undefined;
      });
      const only = tb.pods[0]!;
      const node = tb.nodes.find((n) => n.name === only.node)!;
      const rules = async (): Promise<string> =>
        mode === 'iptables'
          ? (await run(['ip', 'netns', 'exec', node.netns, `iptables-${iptablesVariant()}-save`, '-t', 'nat'])).stdout
          : (await run(['ip', 'netns', 'exec', node.netns, 'nft', 'list', 'table', 'ip', 'kube-proxy'])).stdout;
      // The DNAT targets: iptables has a rule per endpoint; nftables a `dnat to` with
      // one endpoint, or one `dnat ip to numgen ... map { ... }` naming them all.
      const targets = (text: string): string[] =>
        text
          .split('\n')
          .filter((l) => (mode === 'iptables' ? /DNAT.*--to-destination/ : /dnat /).test(l))
          .flatMap((l) => [...l.matchAll(/(10\.244\.\d+\.\d+)(?::| \. )8080/g)].map((m) => m[1]!));
      await eventually('rules with one endpoint', async () => {
        // One endpoint for each of the two service ports (http, udp).
        const t = targets(await rules());
        return t.length === 2 && t.every((ip) => ip === only.ip);
      });
      for (let i = 0; i < 5; i++) assert.equal((await get(tb.external.netns, `http://${node.ip}:${echo().ports[0]!.nodePort}/`))?.pod, only.name);

      await ok(['scale', 'echo', '--replicas', '3']);
      tb = await eventually('three echo pods', async () => {
        const s = await status();
        return s.pods.length === 3 && s.pods.every((p) => p.ready) ? s : undefined;
      });
      await eventually('rules with three endpoints', async () => {
        return targets(await rules()).length === 6;
      });
    });

    it('apply, exec and delete work on a pod of our own', async () => {
      const doc = JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'solo', labels: { app: 'solo' } },
        spec: { containers: [{ name: 'c', image: 'talaria/echo', ports: [{ containerPort: 9000 }] }] },
      });
      const file = `/tmp/${prefix}solo.json`;
      await run(['sh', '-c', `cat > ${file}`], { input: doc });
      assert.match(await ok(['apply', '-f', file]), /pod\/solo created/);
      const solo = await eventually('pod solo ready', async () => (await status()).pods.find((p) => p.name === 'solo' && p.ready));
      assert.equal((await get(solo.netns, 'http://127.0.0.1:9000/'))?.pod, 'solo');
      // The container crashes: the kubelet starts it again (restartPolicy Always).
      for (const pid of (await run(['ip', 'netns', 'pids', solo.netns])).stdout.split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
      await eventually('solo restarted', async () => (await get(solo.netns, 'http://127.0.0.1:9000/'))?.pod === 'solo');
      const r = await cli(['exec', 'solo', '--', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
      assert.match(r.stdout, new RegExp(solo.ip!.replace(/\./g, '\\.')));
      assert.match(await ok(['delete', 'pod', 'solo']), /pod "solo" deleted/);
      assert.equal((await status()).pods.some((p) => p.name === 'solo'), false);
      assert.equal((await netnsLeft()).includes(solo.netns), false);

      await run(['sh', '-c', `sed s#talaria/echo#busybox# ${file} > ${file}.bad`]);
      const refused = await cli(['apply', '-f', `${file}.bad`]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /image: Unsupported value: "busybox"/);
      // What kube-apiserver refuses is reported with its message.
      writeFileSync(`${file}.svc`, 'apiVersion: v1\nkind: Service\nmetadata: {name: outside}\nspec: {clusterIP: 192.0.2.1, ports: [{port: 80}]}\n');
      const invalid = await cli(['apply', '-f', `${file}.svc`]);
      assert.equal(invalid.code, 1);
      assert.match(invalid.stderr, /service\/outside: .*Invalid.*192\.0\.2\.1/s);
      await run(['rm', '-f', file, `${file}.bad`, `${file}.svc`]);
    });

    it('refuses a second up, and down leaves nothing behind (twice is fine)', async () => {
      const second = await cli(['up', '--mode', mode, '--nodes', '1']);
      assert.equal(second.code, 1);
      assert.match(second.stderr, /a testbed already exists/);
      const daemonPid = (await status()).processes.find((p) => p.name === 'daemon')!.pid;
      await ok(['down']);
      assert.deepEqual(await netnsLeft(), []);
      assert.equal(existsSync(env.TALARIA_TESTBED_STATE_DIR), false);
      assert.equal(isAlive(daemonPid), false);
      assert.match(await ok(['down']), /no testbed was running/);
    });
  });
}

describe('testbed in talaria mode', () => {
  let tb: TestbedSummary;
  before(async () => {
    await cleanup();
    tb = JSON.parse(await ok(['up', '--mode', 'talaria', '--nodes', '2', '--pods-per-node', '2', '--json'])) as TestbedSummary;
  });
  after(cleanup);

  it('runs the switch, the controller and the agents, and serves Services through them', async () => {
    assert.match(tb.switch.p4runtime ?? '', /^127\.0\.0\.1:\d+$/);
    assert.equal(tb.switch.target, 'ebpf');
    const kubeSystem = tb.pods.filter((p) => p.namespace === 'kube-system').map((p) => `${p.name} on ${p.node} ${p.phase}${p.ready ? ' ready' : ''}`);
    assert.deepEqual(tb.processes.map((p) => p.name).sort(), [
      'api-relay', 'api-relay-node-1', 'api-relay-node-2', 'controller-0', 'controller-1',
      'controller-metrics-relay-node-1', 'controller-metrics-relay-node-1-node', 'controller-metrics-relay-node-2', 'controller-metrics-relay-node-2-node',
      'daemon', 'etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler',
      'metrics-relay-node-1', 'metrics-relay-node-1-node', 'metrics-relay-node-2', 'metrics-relay-node-2-node',
      'nodeagent-node-1', 'nodeagent-node-2', 'softswitch', 'switch-relay', 'switch-relay-node-1', 'switch-relay-node-2',
    ], `the chart's pods: ${kubeSystem.join('; ')}`);
    // The chart's pods, installed by helm: a controller per node (host ports), an agent on every node.
    const talariaPods = tb.pods.filter((p) => p.namespace === 'kube-system' && p.labels['app.kubernetes.io/name'] === 'talaria' && p.ready);
    const on = (component: string): string[] => talariaPods.filter((p) => p.labels['app.kubernetes.io/component'] === component).map((p) => p.node ?? '').sort();
    assert.deepEqual(on('node-agent'), ['node-1', 'node-2']);
    assert.deepEqual(on('controller'), ['node-1', 'node-2']);
    // Every Talaria process can be scraped from the root namespace.
    for (const p of tb.processes.filter((x) => /^(controller-\d|nodeagent-|softswitch$)/.test(x.name))) {
      const text = await (await fetch(`http://${p.metrics}/metrics`)).text();
      assert.match(text, /^# HELP /m, `${p.name} at ${p.metrics}`);
    }
    const echo = tb.services.find((s) => s.name === 'echo')!;
    const client = tb.pods.find((p) => p.node === 'node-1')!;
    assert.ok(await eventually('ClusterIP answers', () => get(client.netns, `http://${echo.clusterIP}/`)));
    const r = await eventually('NodePort answers', () => get(tb.external.netns, `http://${tb.nodes[1]!.ip}:${echo.ports[0]!.nodePort}/`));
    // No masquerade in talaria mode: the pod sees the external client.
    assert.match(r.client, /^198\.19\.0\.2:/);
  });

  it('down stops the processes and removes the pins', async () => {
    const pids = tb.processes.map((p) => p.pid);
    await ok(['down']);
    assert.deepEqual(await netnsLeft(), []);
    assert.ok(pids.every((p) => !isAlive(p)));
    for (const d of [`${prefix}switch`, `${prefix}node-1`, `${prefix}node-2`]) assert.equal(existsSync(`/sys/fs/bpf/talaria/${d}`), false);
  });
});

describe('a failed up', () => {
  after(cleanup);
  it('removes what it built', async () => {
    const r = await cli(['up', '--mode', 'iptables', '--nodes', '2', '--pods-per-node', '1'], { TALARIA_TESTBED_FAIL_AFTER: 'api-server' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /testbed up failed: injected failure after api-server/);
    assert.deepEqual(await netnsLeft(), []);
    assert.equal(existsSync(env.TALARIA_TESTBED_STATE_DIR), false);
  });
});
