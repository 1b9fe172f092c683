// `talaria nodeagent` as a process: serves /healthz (with lastUpdated),
// /livez, /metrics and /proxyMode; SIGTERM leaves programs and pins in place;
// --cleanup removes both.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { talariaArgv } from '../cli/self.js';
import { queryTc } from '../bpf/loader/tc.js';
import { TC_HANDLE, TC_PRIORITY } from './datapath.js';
import { MiniCluster } from './testing/mini-cluster.js';
import { AgentHarness, until } from './testing/agent-harness.js';
import { freePort } from '../testbed/free-port.js';

const prefix = `tl-nac-${process.pid}`;
const cluster = new MiniCluster(prefix);
const h = new AgentHarness(cluster, `/sys/fs/bpf/talaria/${prefix}`);
const pinDir = `${h.pinRoot}/node-1`;
let child: ChildProcess | undefined;


function run(args: string[]): ChildProcess {
  const argv = talariaArgv(['nodeagent', '--node', 'node-1', '--kubeconfig', h.kc ? h.api.kubeconfigPath : '', '--uplink', 'eth0', '--netns', cluster.nodes[0]!.netns, '--pin-dir', pinDir, ...args]);
  return spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

const attached = (ifname: string): number | undefined => queryTc({ ifname, direction: 'ingress', netns: cluster.nodes[0]!.netns, handle: TC_HANDLE, priority: TC_PRIORITY });

describe('talaria nodeagent (process)', { skip: process.getuid?.() !== 0 && 'needs root (network namespaces, bpf)', timeout: 120_000 }, () => {
  before(async () => {
    await cluster.up(1);
    await cluster.addPod('a', 1, 2);
    await h.startApi();
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await h.stop();
  });

  it('serves health and metrics, keeps its programs on SIGTERM, and --cleanup removes them', async () => {
    const hz = await freePort();
    const mt = await freePort();
    child = run(['--healthz-bind-address', `127.0.0.1:${hz}`, '--metrics-bind-address', `127.0.0.1:${mt}`]);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await until('the agent to be ready', () => /ready \(healthz/.test(err), 60_000);
    const synced = async (): Promise<boolean> => {
      const r = await fetch(`http://127.0.0.1:${hz}/healthz`).catch(() => undefined);
      return r?.status === 200 && Date.parse(((await r.json()) as { lastUpdated: string }).lastUpdated) > Date.parse('2020-01-01');
    };
    await until('a healthy sync', synced, 30_000);
    assert.equal((await fetch(`http://127.0.0.1:${hz}/livez`)).status, 200);
    assert.equal(await (await fetch(`http://127.0.0.1:${mt}/proxyMode`)).text(), 'talaria');
    const metrics = await (await fetch(`http://127.0.0.1:${mt}/metrics`)).text();
    assert.match(metrics, /talaria_bpf_map_entries\{map="tl_host_pods"\} 1/);
    assert.match(metrics, /talaria_attach_errors_total 0/);
    const pod = cluster.pods[0]!;
    assert.ok(attached('eth0') && attached(pod.hostVeth));

    const exited = new Promise<number | null>((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
    assert.ok(attached('eth0') && attached(pod.hostVeth), 'programs stay attached');
    assert.ok(readdirSync(pinDir).some((n) => /^tl_host_conns-v[0-9a-f]{8}$/.test(n)), 'maps stay pinned');

    const cleanup = run(['--cleanup']);
    const code = await new Promise<number | null>((r) => cleanup.once('exit', r));
    assert.equal(code, 0);
    assert.equal(attached('eth0'), undefined);
    assert.equal(attached(pod.hostVeth), undefined);
    assert.equal(existsSync(pinDir), false);
  });
});
