// Faults the daemon injects on request (`talaria testbed fault ...`, the
// e2e faults suite): the failures a cluster meets, made on the testbed's real
// processes.
//
// - restart: a process is killed with SIGKILL (a crash: no clean-up, no Lease
//   release) and started again with the same command after `downMs`. A pod's
//   container (node agents, controllers) is only killed: its kubelet restarts
//   it, as a real kubelet would. kube-apiserver restarts on its own etcd.
// - cold (the switch only): a reboot rather than a process restart. A switch
//   that reboots loses its pipeline and tables, so before it starts again the
//   eBPF switch's programs are detached from its ports and its pinned tables
//   removed; its ports drop everything meanwhile, as a rebooting ASIC's would.
//   BMv2 keeps nothing across a restart: every BMv2 restart is cold.
// - api-unreachable: every node loses the API server for `forMs` (the relay
//   that carries the nodes' connections to it is killed and started again
//   later), while the API server itself, the kubelets and
//   kube-controller-manager keep working: changes made meanwhile must reach
//   the data path once the nodes see the API server again.
// - node-lost: a node drops off the network (its uplink down) and its kubelet
//   falls silent (no Lease renewal), its pods still running: the node
//   controller marks it NotReady and its pods not ready after its grace
//   period, and the EndpointSlices lose them. `back` undoes both.
// - loss: each packet leaving a switch port is dropped with the given
//   probability (testbed/packet-loss.ts), until the loss is set to 0.
import { rm } from 'node:fs/promises';
import { destroyClsact } from '../bpf/loader/index.js';
import type { ControlPlane } from './controlplane/control-plane.js';
import { UPLINK, switchNetns } from './network/addressing.js';
import { run } from './network/exec.js';
import { PacketLoss } from './packet-loss.js';
import { killTracked, respawnTracked } from './processes.js';
import type { TrackedProcess } from './state.js';
import { switchPinDir } from './talaria-mode.js';

export type FaultRequest =
  | { fault: 'restart'; process: string; downMs?: number; cold?: boolean }
  | { fault: 'api-unreachable'; forMs: number }
  | { fault: 'loss'; percent: number }
  | { fault: 'node-lost'; node: string; back?: boolean };

/** What the daemon lends the injector. */
export interface FaultTargets {
  processes(): readonly TrackedProcess[];
  /** Records `next` in place of `old` in the state file. */
  replace(old: TrackedProcess, next: TrackedProcess): Promise<void>;
  controlPlane(): ControlPlane | undefined;
  switchPorts(): readonly string[];
  /** A node's namespace and kubelet. */
  node(name: string): { netns: string; kubelet: { lose(): void; found(): Promise<void> } } | undefined;
  log(msg: string): void;
}

const SWITCHES = ['softswitch', 'bmv2'];
/** The root namespace's end of the nodes' relay to the API server (testbed/node-processes.ts). */
const API_RELAY = 'api-relay';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FaultInjector {
  private apiAway: Promise<void> | undefined;
  private loss: PacketLoss | undefined;
  private stopped = false;

  constructor(private readonly t: FaultTargets) {}

  async handle(request: unknown): Promise<string> {
    const r = request as FaultRequest;
    switch (r?.fault) {
      case 'restart':
        return this.restart(r.process, r.downMs ?? 0, r.cold ?? false);
      case 'api-unreachable':
        return this.apiUnreachable(r.forMs);
      case 'loss':
        return this.setLoss(r.percent);
      case 'node-lost':
        return this.nodeLost(r.node, r.back ?? false);
      default:
        throw new Error(`unknown fault ${JSON.stringify((r as { fault?: unknown })?.fault)} (restart, api-unreachable, loss, node-lost)`);
    }
  }

  /** Starts nothing more (the daemon is stopping and takes everything down). */
  stop(): void {
    this.stopped = true;
  }

  private find(name: string): TrackedProcess {
    const p = this.t.processes().find((x) => x.name === name);
    if (!p) throw new Error(`the testbed has no process "${name}" (it has: ${this.t.processes().map((x) => x.name).join(', ')})`);
    return p;
  }

  private async restart(name: string, downMs: number, cold: boolean): Promise<string> {
    if (!Number.isFinite(downMs) || downMs < 0) throw new Error(`restart ${name}: the time down must be 0 or more milliseconds, not ${downMs}`);
    const p = this.find(name);
    if (cold && !SWITCHES.includes(name)) throw new Error(`restart ${name}: --cold is a switch's reboot (${SWITCHES.join(', ')})`);
    if (p.pod) {
      if (downMs > 0) throw new Error(`restart ${name}: a container of pod ${p.pod}: its kubelet restarts it (after its back-off), there is no time down to choose`);
      await killTracked(p);
      this.t.log(`fault: ${name} (pid ${p.pid}) killed; its kubelet restarts it`);
      return `killed ${name} (pid ${p.pid}); the kubelet of ${p.node} restarts it`;
    }
    if (name === 'kube-apiserver') {
      const cp = this.t.controlPlane()!;
      await cp.restartApiServer(downMs);
      await this.t.replace(p, cp.processes.find((x) => x.name === name)!);
      this.t.log(`fault: kube-apiserver restarted after ${downMs} ms down`);
      return `restarted kube-apiserver after ${downMs} ms down`;
    }
    await killTracked(p);
    if (cold && name === 'softswitch') await this.wipeSoftswitch();
    this.t.log(`fault: ${name} (pid ${p.pid}) killed${cold ? ', its tables wiped' : ''}; starting it in ${downMs} ms`);
    await sleep(downMs);
    if (this.stopped) throw new Error(`restart ${name}: the testbed is stopping`);
    const next = respawnTracked(p);
    await this.t.replace(p, next);
    return `restarted ${name} (pid ${p.pid} -> ${next.pid})${cold ? ' cold: pipeline and tables lost' : ''} after ${downMs} ms down`;
  }

  /** What a reboot does to the eBPF switch: its programs off its ports, its pinned tables gone. */
  private async wipeSoftswitch(): Promise<void> {
    for (const ifname of this.t.switchPorts()) destroyClsact({ ifname, netns: switchNetns() });
    await rm(switchPinDir(), { recursive: true, force: true });
  }

  private async apiUnreachable(forMs: number): Promise<string> {
    if (!Number.isFinite(forMs) || forMs <= 0) throw new Error(`api-unreachable: the time away must be more than 0 milliseconds, not ${forMs}`);
    if (this.apiAway) throw new Error('api-unreachable: the nodes have already lost the API server');
    const relay = this.find(API_RELAY);
    await killTracked(relay);
    this.t.log(`fault: the nodes lost the API server for ${forMs} ms`);
    this.apiAway = (async () => {
      await sleep(forMs);
      if (this.stopped) return;
      await this.t.replace(relay, respawnTracked(relay));
      this.t.log('fault: the nodes reach the API server again');
    })().finally(() => (this.apiAway = undefined));
    this.apiAway.catch((err: Error) => this.t.log(`fault: the API relay did not start again: ${err.message}`));
    return `the nodes lost the API server until ${new Date(Date.now() + forMs).toISOString()}`;
  }

  /** percent > 0: drop that share of the packets leaving the switch's ports; 0: stop, and say how many were dropped. */
  private setLoss(percent: number): string {
    if (!(percent >= 0 && percent <= 100)) throw new Error(`loss: the percentage must be from 0 to 100, not ${percent}`);
    if (percent === 0) {
      if (!this.loss) return 'no packet loss was set';
      const { seen, dropped } = this.loss.counts();
      this.loss.close();
      this.loss = undefined;
      this.t.log(`fault: packet loss stopped (dropped ${dropped} of ${seen} packets)`);
      return `packet loss stopped: dropped ${dropped} of ${seen} packets`;
    }
    if (!this.loss) {
      const loss = PacketLoss.load();
      try {
        loss.attach(this.t.switchPorts(), switchNetns());
      } catch (err) {
        loss.close();
        throw err;
      }
      this.loss = loss;
    }
    this.loss.setRate(percent / 100);
    this.t.log(`fault: ${percent}% of the packets leaving the switch's ports are dropped`);
    return `dropping ${percent}% of the packets leaving the switch's ports (${this.t.switchPorts().join(', ')})`;
  }

  private async nodeLost(name: string, back: boolean): Promise<string> {
    const node = this.t.node(name);
    if (!node) throw new Error(`node-lost: the testbed has no node "${name}"`);
    if (back) {
      await run(['ip', '-n', node.netns, 'link', 'set', UPLINK, 'up']);
      await node.kubelet.found();
      this.t.log(`fault: node ${name} is back`);
      return `node ${name} is back: its uplink is up and its kubelet reports again`;
    }
    node.kubelet.lose();
    await run(['ip', '-n', node.netns, 'link', 'set', UPLINK, 'down']);
    this.t.log(`fault: node ${name} lost`);
    return `node ${name} lost: its uplink is down and its kubelet silent`;
  }
}
