// The faults, each injected while the load (load.ts) runs: what is done, how
// long the load runs around it, and what Talaria promises about it. The
// kube-proxy modes meet the same faults where they have the part (there is no
// switch or controller to kill there; their node process is kube-proxy), and
// their figures are reported beside Talaria's, not held to its guarantees.
import assert from 'node:assert/strict';
import { ApiClient } from '../../testbed/client.js';
import type { KubeObject } from '../../testbed/client.js';
import { injectFault } from '../../testbed/fault-command.js';
import type { E2eContext, Mode } from '../context.js';
import { answeredBy, fetchText } from '../context.js';
import { killLeader } from '../failover.js';
import { service } from '../../testbed/objects.js';
import type { FaultFigures } from './load.js';

/** What the case under way lends a fault: the testbed, the workload, and where its clients are. */
export interface FaultScene {
  ctx: E2eContext;
  /** The Deployment behind the Service under load. */
  deployment: string;
  /** A client pod's netns, to check what a new connection reaches. */
  clientNetns: string;
  /** The node the first client runs on (whose node process the node faults hit). */
  node: string;
  /** The last node, and the client pod on it: the one the node-lost fault takes away. */
  lastNode: string;
  lastClient: string;
}

/** What a fault says about itself beyond the load's figures. */
export interface FaultOutcome {
  detail?: string;
  /** Checks of its own that failed (the case fails with them). */
  problems?: string[];
  /** What the fault took away by design: its clients' traffic and connections to its pods are left out of the figures. */
  lost?: { sources: string[]; pods: string[] };
}

/** What a case holds Talaria to: the most of each figure it may show. */
export type Guarantee = Partial<Record<'broken' | 'moved' | 'newFailedDuring' | 'newFailedAfter' | 'fullServiceMs', number>>;

export interface FaultCase {
  name: string;
  modes: Mode[];
  /** talaria mode: only on these switches (all when absent). */
  switches?: ('ebpf' | 'bmv2')[];
  /** How long the load runs; the fault starts WARMUP_MS in and must be over well before the end. */
  seconds: number;
  inject(scene: FaultScene): Promise<FaultOutcome>;
  /** Undoes what inject left in place, once the load has ended (also when the case failed). */
  recover?(scene: FaultScene): Promise<void>;
  /** What talaria mode must show (the baselines are reported, not held to it). */
  guarantee: Guarantee;
  /**
   * The fault changes the Service's endpoints: only connections from pods
   * (pinned by their hosts) are held to the guarantee. The outside client's
   * rest on the selector's minimal disruption, which moves a few of them
   * (the README's "The selector is Maglev"); they are reported beside.
   */
  pinnedOnly?: boolean;
}

const ALL: Mode[] = ['talaria', 'iptables', 'nftables'];
const NONE_LOST: Guarantee = { broken: 0, moved: 0, newFailedDuring: 0, newFailedAfter: 0 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** After an EndpointSlice update, the time a proxy is given to program it before new connections must work. */
const PROGRAMMING_MS = 2000;
const LATE_SERVICE = 'e2e-faults-late';

/** Waits until the testbed lists `name` with another pid than `oldPid` (its kubelet started it again). */
async function restarted(ctx: E2eContext, name: string, oldPid: number, timeoutMs = 60_000): Promise<number> {
  return ctx.eventually(`${name} running again`, async () => {
    await ctx.refresh();
    const p = ctx.tb.processes.find((x) => x.name === name);
    assert.ok(p && p.pid !== oldPid, `${name} not restarted yet`);
    if (p.metrics) assert.ok((await fetchText(`http://${p.metrics}/metrics`)).ok);
    return p.pid;
  }, timeoutMs);
}

function pidOf(ctx: E2eContext, name: string): number {
  const p = ctx.tb.processes.find((x) => x.name === name);
  assert.ok(p, `the testbed has no process ${name}`);
  return p.pid;
}

async function lossFor(percent: number, ms: number): Promise<FaultOutcome> {
  await injectFault({ fault: 'loss', percent });
  await sleep(ms);
  const said = await injectFault({ fault: 'loss', percent: 0 });
  return { detail: said.replace(/^packet loss stopped: /, '') };
}

export const FAULT_CASES: FaultCase[] = [
  {
    name: 'node agent killed (SIGKILL) and restarted by its kubelet',
    modes: ['talaria'],
    seconds: 30,
    guarantee: NONE_LOST,
    async inject({ ctx, node }) {
      const name = `nodeagent-${node}`;
      const old = pidOf(ctx, name);
      const t0 = Date.now();
      await injectFault({ fault: 'restart', process: name });
      await restarted(ctx, name, old);
      return { detail: `${name} serving metrics again ${Date.now() - t0} ms after the kill` };
    },
  },
  {
    name: 'kube-proxy killed (SIGKILL) and restarted 1 s later',
    modes: ['iptables', 'nftables'],
    seconds: 30,
    guarantee: NONE_LOST,
    async inject({ node }) {
      await injectFault({ fault: 'restart', process: `kube-proxy-${node}`, downMs: 1000 });
      return {};
    },
  },
  {
    name: 'controller leader killed (SIGKILL); the standby takes over and rewrites nothing',
    modes: ['talaria'],
    seconds: 45,
    guarantee: NONE_LOST,
    async inject({ ctx }) {
      const api = await ApiClient.fromKubeconfig(ctx.tb.kubeconfig!);
      try {
        const { leader, standby, takeoverMs, written } = await killLeader(ctx, api, (l) => injectFault({ fault: 'restart', process: l.name }));
        return {
          detail: `${standby.name} took over ${takeoverMs} ms after ${leader.name} was killed (Lease 15 s) and wrote ${written} updates`,
          problems: written ? [`${standby.name} rewrote ${written} entries the switch already held`] : [],
        };
      } finally {
        api.close();
      }
    },
  },
  {
    name: 'switch process restarted (SIGKILL, up 2 s later; its tables survive in pinned maps)',
    modes: ['talaria'],
    switches: ['ebpf'],
    seconds: 30,
    guarantee: NONE_LOST,
    async inject() {
      return { detail: await injectFault({ fault: 'restart', process: 'softswitch', downMs: 2000 }) };
    },
  },
  {
    name: 'switch rebooted (down 3 s, pipeline and tables lost): the controller programs it again',
    modes: ['talaria'],
    seconds: 40,
    // Packets are lost while it is down and until the controller has
    // programmed it again: new connections fail then; held ones stall and
    // resume on TCP's retransmissions. Service is back within 10 s of the
    // switch's return.
    guarantee: { broken: 0, moved: 0, fullServiceMs: 13_000 },
    async inject({ ctx }) {
      const process = ctx.tb.switch.target === 'bmv2' ? 'bmv2' : 'softswitch';
      return { detail: await injectFault({ fault: 'restart', process, downMs: 3000, cold: true }) };
    },
  },
  {
    name: 'API server restarted (down 10 s)',
    modes: ALL,
    seconds: 40,
    guarantee: NONE_LOST,
    async inject() {
      await injectFault({ fault: 'restart', process: 'kube-apiserver', downMs: 10_000 });
      return {};
    },
  },
  {
    // The change is a new Service, not new endpoints of the one under load:
    // a backend added to that one would take over some of the external
    // client's connections, which no Talaria host pins (the design's
    // documented limit, measured by the e2e churn and disruption cases), and
    // this case is about the API server.
    name: 'API server unreachable from the nodes for 60 s; a Service created meanwhile is served once it is back',
    modes: ALL,
    seconds: 90,
    guarantee: NONE_LOST,
    async inject({ ctx, deployment, clientNetns }) {
      const awayMs = 60_000;
      const back = Date.now() + awayMs;
      await injectFault({ fault: 'api-unreachable', forMs: awayMs });
      await sleep(3000);
      await ctx.apply(service(LATE_SERVICE, { selector: { app: deployment }, ports: [{ port: 80, targetPort: 8080 }] }));
      await ctx.refresh();
      const ip = ctx.service(LATE_SERVICE).clusterIP;
      const earlyAnswers = (await ctx.http(clientNetns, ip, 80, 1)).filter((a) => a.ok).length;
      await sleep(Math.max(0, back - Date.now()));
      // From here the nodes see the API server again: the new Service must be served.
      const servedAfterMs = await ctx.eventually(`Service ${LATE_SERVICE} (created while the API server was away) answers`, async () => {
        answeredBy(await ctx.http(clientNetns, ip, 80, 2));
        return Date.now() - back;
      }, 60_000);
      return {
        detail: `the Service created while away answered ${servedAfterMs} ms after the nodes saw the API server again`,
        problems: earlyAnswers ? [`Service ${LATE_SERVICE} answered while no node could have heard of it: the fault did not cut the nodes off`] : [],
      };
    },
    async recover({ ctx }) {
      await ctx.delete('service', LATE_SERVICE).catch(() => undefined);
    },
  },
  {
    name: 'packet loss 1% on every switch port for 20 s',
    modes: ALL,
    seconds: 35,
    // Loss costs time, not connections: no held connection may end or move.
    guarantee: { broken: 0, moved: 0 },
    inject: () => lossFor(1, 20_000),
  },
  {
    name: 'packet loss 5% on every switch port for 20 s',
    modes: ALL,
    seconds: 35,
    guarantee: { broken: 0, moved: 0 },
    inject: () => lossFor(5, 20_000),
  },
  {
    name: 'backend node lost (uplink down, kubelet silent): its pods leave the Service, no other connection is touched',
    modes: ALL,
    seconds: 110,
    // New connections fail while the lost node's pods are still endpoints; from
    // the endpoint update on (and the proxies' time to program it) none may.
    guarantee: { broken: 0, moved: 0, newFailedAfter: 0 },
    pinnedOnly: true,
    async inject({ ctx, deployment, lastNode, lastClient }) {
      await ctx.refresh();
      const lostPods = ctx.podsOf(deployment).filter((p) => p.node === lastNode);
      const ips = new Set(lostPods.map((p) => p.ip));
      await injectFault({ fault: 'node-lost', node: lastNode });
      const t0 = Date.now();
      const api = await ApiClient.fromKubeconfig(ctx.tb.kubeconfig!);
      try {
        await ctx.eventually(`the EndpointSlices of ${deployment} drop ${lastNode}'s pods`, async () => {
          const slices = await api.list<KubeObject & { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }>(`/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${deployment}`)}`);
          const still = slices.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready !== false && e.addresses.some((a) => ips.has(a)));
          assert.equal(still.length, 0, `${still.length} still ready`);
        }, 120_000);
      } finally {
        api.close();
      }
      const updateMs = Date.now() - t0;
      // What the proxies need to program the update (the endpoint-change figures of the benchmark are far below).
      await sleep(PROGRAMMING_MS);
      return {
        detail: `the EndpointSlices dropped ${lastNode}'s ${lostPods.length} pods ${updateMs} ms after it was lost (the node controller's grace period); ${PROGRAMMING_MS} ms allowed to program it`,
        lost: { sources: [lastClient], pods: lostPods.map((p) => p.name) },
      };
    },
    async recover({ ctx, lastNode }) {
      await injectFault({ fault: 'node-lost', node: lastNode, back: true });
      await ctx.eventually(`${lastNode} Ready again`, async () => {
        await ctx.refresh();
        assert.ok(ctx.tb.nodes.find((n) => n.name === lastNode)?.ready, 'not yet');
      }, 60_000);
    },
  },
];

/** Where figures exceed a case's guarantee (empty: kept). */
export function brokenGuarantees(guarantee: Guarantee, f: FaultFigures): string[] {
  return (Object.entries(guarantee) as [keyof Guarantee, number][]).filter(([k, most]) => f[k] > most).map(([k, most]) => `${k} ${f[k]} (at most ${most})`);
}
