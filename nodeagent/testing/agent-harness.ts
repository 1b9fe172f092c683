// Node agents for a MiniCluster, in-process, fed by a real kube-apiserver
// holding the cluster's Nodes and Pods (and whatever Services a test adds).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import type { KubeConfig } from '@kubernetes/client-node';
import { TestApiServer } from '../../testbed/controlplane/test-api-server.js';
import { HealthTracker } from '../../observability/health.js';
import { removePinDir } from '../../bpf/loader/pin.js';
import { HOST_EVENTS } from '../../bpf/layouts/host-maps.js';
import type { HostEvent } from '../../bpf/layouts/host-maps.js';
import { NodeAgent } from '../agent.js';
import { HostDatapath } from '../datapath.js';
import { AgentMetrics } from '../metrics.js';
import type { MiniCluster, MiniPod } from './mini-cluster.js';
import { CLIENT, ECHO_SERVER, LineReader } from './scripts.js';

const execP = promisify(execFile);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export class AgentHarness {
  api!: TestApiServer;
  kc!: KubeConfig;
  readonly agents = new Map<string, { agent: NodeAgent; registry: Registry; health: HealthTracker }>();
  readonly logs: string[] = [];

  constructor(
    readonly cluster: MiniCluster,
    readonly pinRoot: string,
  ) {}

  /** API server with the cluster's Nodes and Pods (Running, with their IPs). */
  async startApi(): Promise<void> {
    this.api = await TestApiServer.start();
    this.kc = this.api.kubeConfig();
    await Promise.all(this.cluster.nodes.map(async (n) => {
      const node = await this.api.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: n.name } });
      await this.api.patchStatus(node, { addresses: [{ type: 'InternalIP', address: n.ip }] });
    }));
    await Promise.all(this.cluster.pods.map((p) => this.pod(p.name, `node-${p.node}`, p.ip)));
  }

  /** A Pod bound to `node`, Running with `ip` (none: Running without an address yet). */
  async pod(name: string, node: string, ip?: string): Promise<void> {
    const pod = await this.api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: node, containers: [{ name: 'c', image: 'echo' }] } });
    await this.api.patchStatus(pod, { phase: 'Running', ...(ip ? { podIP: ip, podIPs: [{ ip }] } : {}) });
  }

  /** An agent for node `node`, not started yet (start() resolves once the preflight checks pass). */
  newAgent(node: number, extra: { maxEntries?: Record<string, number>; health?: HealthTracker; preflightRetryMs?: number } = {}): { agent: NodeAgent; registry: Registry; health: HealthTracker } {
    const n = this.cluster.nodes[node - 1]!;
    const registry = new Registry();
    const health = extra.health ?? new HealthTracker();
    const agent = new NodeAgent({
      nodeName: n.name,
      kubeconfig: this.kc,
      uplink: 'eth0',
      netns: n.netns,
      pinDir: `${this.pinRoot}/${n.name}`,
      podGatewayIf: 'cni0',
      clusterCidr: '10.244.0.0/16',
      redirectPeer: true,
      metrics: new AgentMetrics(registry),
      health,
      log: (l) => this.logs.push(`${n.name}: ${l}`),
      minSyncIntervalMs: 20,
      maxEntries: extra.maxEntries,
      preflightRetryMs: extra.preflightRetryMs,
    });
    this.agents.set(n.name, { agent, registry, health });
    return { agent, registry, health };
  }

  /** Starts (or restarts) the agent of node `node` and waits for its first sync. */
  async startAgent(node: number, extra: { maxEntries?: Record<string, number>; expectPods?: number } = {}): Promise<NodeAgent> {
    const n = this.cluster.nodes[node - 1]!;
    const { agent } = this.newAgent(node, extra);
    await agent.start();
    const want = extra.expectPods ?? this.cluster.pods.filter((p) => p.node === node).length;
    await until(`${n.name} to sync and place its ${want} pods`, () => agent.syncCount > 0 && [...agent.datapath.pods.keys()].length === want);
    return agent;
  }

  agent(node: string): NodeAgent {
    return this.agents.get(node)!.agent;
  }

  events(node: string): Record<HostEvent, number> {
    const dp = this.agent(node).datapath;
    return Object.fromEntries(HostDatapath.sumCounters(dp.events, HOST_EVENTS.length).map((v, i) => [HOST_EVENTS[i]!, v])) as Record<HostEvent, number>;
  }

  /** conntrack entries in a namespace that mention one of the addresses. */
  async conntrackEntries(netns: string, addrs: string[]): Promise<string[]> {
    const { stdout } = await execP('ip', ['netns', 'exec', netns, 'conntrack', '-L'], { maxBuffer: 16 << 20 }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
    return stdout.split('\n').filter((l) => addrs.some((a) => l.includes(`=${a} `)));
  }

  echoServer(pod: MiniPod, port: number): LineReader {
    return new LineReader(this.cluster.start(pod.netns, [process.execPath, '-e', ECHO_SERVER, String(port)]));
  }

  client(pod: MiniPod, addr: string, port: number, n: number): { lines: LineReader; roundTrip(): Promise<[number, number]> } {
    const child = this.cluster.start(pod.netns, [process.execPath, '-e', CLIENT, addr, String(port), String(n)]);
    const lines = new LineReader(child);
    return {
      lines,
      async roundTrip() {
        child.stdin!.write('go\n');
        const [, ok, failed] = (await lines.next(/^result /)).split(' ');
        return [Number(ok), Number(failed)];
      },
    };
  }

  async stop(): Promise<void> {
    if (process.env.TALARIA_SHOW_LOGS) console.log(this.logs.join('\n'));
    for (const { agent } of this.agents.values()) await agent.stop().catch(() => undefined);
    await this.api?.stop().catch(() => undefined);
    await this.cluster.destroy();
    removePinDir(this.pinRoot);
  }
}
