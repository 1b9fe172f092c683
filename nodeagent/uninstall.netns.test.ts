// Uninstall on real namespaces and a real API server: `talaria nodeagent`
// processes as its DaemonSet pod runs them (POD_NAME, POD_NAMESPACE), told to
// stop. A restart (the DaemonSet still there) keeps programs and pins; an
// uninstall (the DaemonSet deleted) leaves no filter and no pin of the agent,
// and nothing else is touched; `--cleanup` needs no other flag than where.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { talariaArgv } from '../cli/self.js';
import { removePinDir } from '../bpf/loader/pin.js';
import { interfaces, withNetns } from '../bpf/loader/netns.js';
import { queryTc } from '../bpf/loader/tc.js';
import { TestApiServer } from '../testbed/controlplane/test-api-server.js';
import { TC_HANDLE, TC_PRIORITY } from './datapath.js';
import { MiniCluster } from './testing/mini-cluster.js';

const prefix = `tl-un-${process.pid}`;
const cluster = new MiniCluster(prefix);
const pinDir = `/sys/fs/bpf/talaria/${prefix}`;
/** Stands for another component's pins below the agent's directory (the software switch's default). */
const otherPins = `${pinDir}/switch`;
const NS = 'kube-system';
const DS = 'talaria-node-agent';
let api: TestApiServer;
const children: ChildProcess[] = [];

/** Interfaces of the node namespace that carry the agent's filter. */
function withAgentFilter(netns: string): string[] {
  const names = withNetns(netns, () => interfaces().map((i) => i.name));
  return names.filter((ifname) => queryTc({ ifname, direction: 'ingress', netns, handle: TC_HANDLE, priority: TC_PRIORITY }) !== undefined);
}

function agentPins(): string[] {
  return existsSync(pinDir) ? readdirSync(pinDir).filter((n) => n !== 'switch') : [];
}

/** Runs `talaria <args>` to its end; resolves with its exit code and stderr. */
function talaria(args: string[], env: Record<string, string> = {}, until?: RegExp): { child: ChildProcess; ready: Promise<void>; exited: Promise<{ code: number | null; log: string }> } {
  const argv = talariaArgv(args);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let log = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
    if (until?.test(log)) markReady();
  });
  const exited = new Promise<{ code: number | null; log: string }>((resolve) => child.once('exit', (code) => resolve({ code, log })));
  // Without `until` nobody waits for readiness (and an early exit is no failure).
  const early = until ? exited.then(({ log: l }) => Promise.reject(new Error(`talaria ${args[0]} exited early:\n${l}`))) : ready;
  return { child, ready: Promise.race([ready, early]), exited };
}

function agent(kubeconfig = api.kubeconfigPath): ReturnType<typeof talaria> {
  const n = cluster.nodes[0]!;
  return talaria(
    ['nodeagent', '--node', n.name, '--kubeconfig', kubeconfig, '--uplink', 'eth0', '--netns', n.netns, '--pin-dir', pinDir, '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0'],
    { POD_NAME: 'talaria-node-agent-x1', POD_NAMESPACE: NS },
    /nodeagent\] ready \(/,
  );
}

describe('uninstall: the node agent leaves the node clean, and only then', { skip: process.getuid?.() !== 0 && 'needs root (network namespaces, bpf)', timeout: 180_000 }, () => {
  before(async () => {
    await cluster.up(1);
    await cluster.addPod('a', 1, 2);
    api = await TestApiServer.start();
    const n = cluster.nodes[0]!;
    await api.patchStatus(await api.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: n.name } }), { addresses: [{ type: 'InternalIP', address: n.ip }] });
    await api.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: NS } });
    const labels = { app: 'talaria-node-agent' };
    const ds = await api.create({
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: DS, namespace: NS },
      spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'node-agent', image: 'talaria' }] } } },
    });
    const uid = (ds.metadata as unknown as { uid: string }).uid;
    await api.create({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'talaria-node-agent-x1', namespace: NS, labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: DS, uid, controller: true }] },
      spec: { nodeName: n.name, hostNetwork: true, containers: [{ name: 'node-agent', image: 'talaria' }] },
    });
    await api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'default' }, spec: { nodeName: n.name, containers: [{ name: 'c', image: 'echo' }] } }).then((p) => api.patchStatus(p, { phase: 'Running', podIP: cluster.pods[0]!.ip, podIPs: [{ ip: cluster.pods[0]!.ip }] }));
    mkdirSync(otherPins, { recursive: true });
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await api?.stop().catch(() => undefined);
    await cluster.destroy();
    removePinDir(pinDir);
  });

  it('stopped while its DaemonSet stands (a restart, an upgrade): programs stay attached, maps stay pinned', async () => {
    const a = agent();
    await a.ready;
    const netns = cluster.nodes[0]!.netns;
    const pod = cluster.pods[0]!;
    // The pod's veth is attached on the first sync, a moment after "ready".
    const deadline = Date.now() + 20_000;
    while (withAgentFilter(netns).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(withAgentFilter(netns).sort(), ['eth0', pod.hostVeth].sort());
    a.child.kill('SIGTERM');
    const { code, log } = await a.exited;
    assert.equal(code, 0, log);
    assert.match(log, /programs stay attached, maps stay pinned/);
    assert.deepEqual(withAgentFilter(netns).sort(), ['eth0', pod.hostVeth].sort());
    assert.ok(agentPins().length > 0);
  });

  it('stopped after its DaemonSet was deleted (helm uninstall): no filter and no pin of the agent left, other pins untouched', async () => {
    const a = agent();
    await a.ready;
    await api.delete({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: DS, namespace: NS } });
    a.child.kill('SIGTERM');
    const { code, log } = await a.exited;
    assert.equal(code, 0, log);
    assert.match(log, /the DaemonSet is being deleted, removing the programs and pins/);
    assert.deepEqual(withAgentFilter(cluster.nodes[0]!.netns), []);
    assert.deepEqual(agentPins(), []);
    assert.ok(existsSync(otherPins), 'the directory below (another component\'s pins) stays');
  });

  it('stopped after its ServiceAccount lost its permissions (helm uninstall deletes the RBAC with the DaemonSet): it cleans up', async () => {
    // The agent's own ServiceAccount, allowed everything until the release goes.
    await api.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DS, namespace: NS } });
    const binding = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'uninstall-test' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', name: DS, namespace: NS }] };
    await api.create(binding);
    const tr = await api.api.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${NS}/serviceaccounts/${DS}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
    const kubeconfig = await api.controlPlane.serviceAccountKubeconfig(NS, DS, tr.status.token);
    const a = agent(kubeconfig);
    await a.ready;
    assert.ok(withAgentFilter(cluster.nodes[0]!.netns).includes('eth0'));
    await api.delete(binding);
    a.child.kill('SIGTERM');
    const { code, log } = await a.exited;
    assert.equal(code, 0, log);
    assert.match(log, /refuses this agent's ServiceAccount \(HTTP 403\): Talaria is being uninstalled/);
    assert.deepEqual(withAgentFilter(cluster.nodes[0]!.netns), []);
    assert.deepEqual(agentPins(), []);
  });

  it('`talaria nodeagent --cleanup` needs only where: it detaches and unpins what a killed agent left', async () => {
    const a = agent();
    await a.ready;
    a.child.kill('SIGKILL');
    await a.exited;
    const netns = cluster.nodes[0]!.netns;
    assert.ok(withAgentFilter(netns).includes('eth0'));
    const c = talaria(['nodeagent', '--cleanup', '--netns', netns, '--pin-dir', pinDir]);
    const { code, log } = await c.exited;
    assert.equal(code, 0, log);
    assert.match(log, /cleanup: detached from .*eth0/);
    assert.deepEqual(withAgentFilter(netns), []);
    assert.deepEqual(agentPins(), []);
    assert.ok(existsSync(otherPins));
  });
});
