// A two-node cluster in network namespaces for the agent's tests, without
// the rest of Talaria: a Linux router namespace stands in for the switch
// (enough for pod-to-pod traffic, which the switch only routes), each node
// has an uplink `eth0`, a `cni0` bridge and its pods' veths, as the testbed
// wires them. Names carry a prefix with the pid; destroy() removes all of it.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface MiniPod {
  name: string;
  node: number;
  ip: string;
  netns: string;
  hostVeth: string;
  mac: string;
}

export interface MiniNode {
  index: number;
  name: string;
  netns: string;
  ip: string;
  switchIP: string;
  uplinkMac: string;
  switchMac: string;
}

export const UPLINK_MTU = 1512;

async function ipBatch(netns: string | null, lines: string[]): Promise<void> {
  const child = spawn('ip', [...(netns ? ['-n', netns] : []), '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin.end(lines.join('\n') + '\n');
  const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)));
  if (code !== 0) throw new Error(`ip -batch${netns ? ` in ${netns}` : ''} failed: ${err.trim()}`);
}

export class MiniCluster {
  readonly nodes: MiniNode[] = [];
  readonly pods: MiniPod[] = [];
  private readonly children = new Set<ChildProcess>();
  readonly switchNetns: string;

  constructor(readonly prefix: string) {
    this.switchNetns = `${prefix}-sw`;
  }

  /**
   * Switch stand-in and `nodes` nodes (routes for every node's pod CIDR).
   * forward=false leaves the switch namespace without IP forwarding, for
   * the real software switch (nothing it passes may sneak through).
   */
  async up(nodes: number, opts: { forward?: boolean } = {}): Promise<void> {
    await ipBatch(null, [`netns add ${this.switchNetns}`]);
    const sw: string[] = ['link set lo up'];
    for (let i = 1; i <= nodes; i++) {
      const n: MiniNode = {
        index: i,
        name: `node-${i}`,
        netns: `${this.prefix}-n${i}`,
        ip: `198.18.${i}.2`,
        switchIP: `198.18.${i}.1`,
        uplinkMac: `02:74:61:01:${i.toString(16).padStart(2, '0')}:02`,
        switchMac: `02:74:61:01:${i.toString(16).padStart(2, '0')}:01`,
      };
      this.nodes.push(n);
      await ipBatch(null, [`netns add ${n.netns}`]);
      sw.push(
        `link add swn${i} address ${n.switchMac} mtu ${UPLINK_MTU} type veth peer name eth0 address ${n.uplinkMac} mtu ${UPLINK_MTU} netns ${n.netns}`,
        `addr add ${n.switchIP}/24 dev swn${i}`,
        `link set swn${i} up`,
        `route add 10.244.${i}.0/24 via ${n.ip}`,
      );
    }
    await ipBatch(this.switchNetns, sw);
    await this.sysctl(this.switchNetns, { 'net.ipv4.ip_forward': opts.forward === false ? 0 : 1, 'net.ipv4.conf.all.rp_filter': 0 });
    for (const n of this.nodes) {
      await ipBatch(n.netns, [
        'link set lo up',
        `addr add ${n.ip}/24 dev eth0`,
        'link set eth0 up',
        'link add cni0 mtu 1500 type bridge',
        `addr add 10.244.${n.index}.1/24 dev cni0`,
        'link set cni0 up',
        `neigh replace ${n.switchIP} lladdr ${n.switchMac} dev eth0 nud permanent`,
        `route add default via ${n.switchIP} dev eth0`,
      ]);
      await this.sysctl(n.netns, { 'net.ipv4.ip_forward': 1, 'net.ipv4.conf.all.rp_filter': 0 });
    }
  }

  private async sysctl(netns: string, values: Record<string, number>): Promise<void> {
    await exec('ip', ['netns', 'exec', netns, 'sysctl', '-q', '-w', ...Object.entries(values).map(([k, v]) => `${k}=${v}`)]);
  }

  /** A pod on node `node` (1-based) with address 10.244.<node>.<slot>. */
  async addPod(name: string, node: number, slot: number): Promise<MiniPod> {
    const n = this.nodes[node - 1]!;
    const p: MiniPod = { name, node, ip: `10.244.${node}.${slot}`, netns: `${this.prefix}-${name}`, hostVeth: `v${this.prefix.slice(-6)}${name}`.slice(0, 15), mac: '' };
    await ipBatch(null, [`netns add ${p.netns}`]);
    await ipBatch(n.netns, [`link add ${p.hostVeth} mtu 1500 type veth peer name eth0 netns ${p.netns}`, `link set ${p.hostVeth} master cni0`, `link set ${p.hostVeth} up`]);
    await ipBatch(p.netns, ['link set lo up', `addr add ${p.ip}/24 dev eth0`, 'link set eth0 up', `route add default via 10.244.${node}.1 dev eth0`]);
    const { stdout } = await exec('ip', ['-n', p.netns, '-j', 'link', 'show', 'dev', 'eth0']);
    p.mac = (JSON.parse(stdout) as Array<{ address: string }>)[0]!.address;
    this.pods.push(p);
    return p;
  }

  /** Removes one pod's namespace (its veth goes with it). */
  async removePod(name: string): Promise<void> {
    const i = this.pods.findIndex((p) => p.name === name);
    if (i < 0) return;
    const [p] = this.pods.splice(i, 1);
    await exec('ip', ['netns', 'del', p!.netns]).catch(() => undefined);
  }

  /** Runs a command in a namespace and returns its stdout. */
  async run(netns: string, argv: string[], timeoutMs = 20_000): Promise<string> {
    const { stdout } = await exec('ip', ['netns', 'exec', netns, ...argv], { timeout: timeoutMs, maxBuffer: 16 << 20 });
    return stdout;
  }

  /** Starts a long-running process in a namespace; killed by destroy(). */
  start(netns: string, argv: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', netns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('close', () => this.children.delete(child));
    return child;
  }

  /** rx+tx packets of an interface. */
  async packets(netns: string, ifname: string): Promise<number> {
    const { stdout } = await exec('ip', ['-n', netns, '-s', '-j', 'link', 'show', 'dev', ifname]);
    const s = (JSON.parse(stdout) as Array<{ stats64: { rx: { packets: number }; tx: { packets: number } } }>)[0]!.stats64;
    return s.rx.packets + s.tx.packets;
  }

  async destroy(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    const names = [...this.pods.map((p) => p.netns), ...this.nodes.map((n) => n.netns), this.switchNetns];
    for (const ns of names) {
      // Processes first, or the namespace outlives its name.
      const pids = await exec('ip', ['netns', 'pids', ns]).then((r) => r.stdout.split(/\s+/).filter(Boolean), () => []);
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await exec('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
  }
}
