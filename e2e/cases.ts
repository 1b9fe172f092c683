// The end-to-end cases: the behaviours Kubernetes' sig-network Services and
// Conntrack e2e tests expect from kube-proxy, rewritten for the testbed. Each
// case creates its own objects (named after the case) and deletes them.
import assert from 'node:assert/strict';
import { runInNetns } from '../testbed/run-in-netns.js';
import { AssertionError } from 'node:assert';
import type { E2eContext, Mode } from './context.js';
import { CLIENT, CLIENT_2, answeredBy, echoDeployment } from './context.js';
import { service } from '../testbed/objects.js';
import type { Attempt } from './probe.js';
import { diagnoseNodePortPath } from './diagnose.js';
import { ApiClient } from '../testbed/client.js';

export interface E2eCase {
  name: string;
  /** Modes the case applies to (all when absent). */
  modes?: Mode[];
  run(ctx: E2eContext): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const distinct = (xs: readonly string[]) => [...new Set(xs)].sort();

function assertRefused(attempts: readonly Attempt[], what: string): void {
  for (const a of attempts) {
    if (a.ok) throw new AssertionError({ message: `${what}: expected the connection to be refused, but ${a.answer?.pod} answered` });
    if (a.error !== 'ECONNREFUSED') throw new AssertionError({ message: `${what}: expected ECONNREFUSED (rejected, not dropped), got ${a.error} after ${Math.round(a.ms)} ms` });
  }
}

/** Creates a Deployment + Service pair, waits for the pods, returns their names. */
async function deploy(ctx: E2eContext, name: string, replicas: number, ports: Parameters<typeof echoDeployment>[2], svcSpec: Record<string, unknown>, svcMeta: Record<string, unknown> = {}): Promise<string[]> {
  await ctx.apply(echoDeployment(name, replicas, ports), service(name, { selector: { app: name }, ...svcSpec }, svcMeta));
  const pods = await ctx.waitForPods(name, replicas);
  return pods.map((p) => p.name);
}

async function cleanup(ctx: E2eContext, name: string): Promise<void> {
  await ctx.delete('service', name).catch(() => undefined);
  await ctx.delete('deployment', name).catch(() => undefined);
}

function withCleanup(name: string, body: (ctx: E2eContext) => Promise<void>): (ctx: E2eContext) => Promise<void> {
  return async (ctx) => {
    try {
      await body(ctx);
    } finally {
      await cleanup(ctx, name);
    }
  };
}

export const CASES: E2eCase[] = [
  {
    name: 'serve a basic endpoint from pods',
    run: withCleanup('e2e-basic', async (ctx) => {
      const pods = await deploy(ctx, 'e2e-basic', 2, [{ name: 'http', containerPort: 8080 }], { ports: [{ port: 80, targetPort: 8080 }] });
      const ip = ctx.service('e2e-basic').clusterIP;
      await ctx.eventually('ClusterIP answers from the pods', async () => {
        const by = answeredBy(await ctx.http(ctx.pod(CLIENT).netns, ip, 80, 10));
        assert.ok(by.every((p) => pods.includes(p)), `answers from ${distinct(by)}, expected only ${pods}`);
      });
    }),
  },
  {
    name: 'multiport Service',
    run: withCleanup('e2e-multi', async (ctx) => {
      await deploy(ctx, 'e2e-multi', 1, [{ name: 'a', containerPort: 8080 }, { name: 'b', containerPort: 8081 }], {
        ports: [{ name: 'a', port: 80, targetPort: 8080 }, { name: 'b', port: 81, targetPort: 8081 }],
      });
      const ip = ctx.service('e2e-multi').clusterIP;
      for (const port of [80, 81]) {
        await ctx.eventually(`port ${port} answers`, async () => answeredBy(await ctx.http(ctx.pod(CLIENT).netns, ip, port, 2)));
      }
    }),
  },
  {
    name: 'the same port with TCP and UDP',
    run: withCleanup('e2e-dual', async (ctx) => {
      await deploy(ctx, 'e2e-dual', 1, [{ name: 'tcp', containerPort: 5353, protocol: 'TCP' }, { name: 'udp', containerPort: 5353, protocol: 'UDP' }], {
        ports: [{ name: 'tcp', port: 53, protocol: 'TCP', targetPort: 5353 }, { name: 'udp', port: 53, protocol: 'UDP', targetPort: 5353 }],
      });
      const ip = ctx.service('e2e-dual').clusterIP;
      const client = ctx.pod(CLIENT).netns;
      await ctx.eventually('TCP/53 answers', async () => answeredBy(await ctx.http(client, ip, 53, 2)));
      await ctx.eventually('UDP/53 answers', async () => answeredBy(await ctx.udp(client, ip, 53, 2)));
    }),
  },
  {
    name: 'named target ports',
    run: withCleanup('e2e-named', async (ctx) => {
      await deploy(ctx, 'e2e-named', 2, [{ name: 'web', containerPort: 9090 }], { ports: [{ port: 80, targetPort: 'web' }] });
      const ip = ctx.service('e2e-named').clusterIP;
      await ctx.eventually('port 80 reaches the named container port', async () => answeredBy(await ctx.http(ctx.pod(CLIENT).netns, ip, 80, 4)));
    }),
  },
  {
    name: 'a Service with multiple ports spread over multiple EndpointSlices',
    run: async (ctx) => {
      // Two Deployments whose pods give the named port "web" different numbers:
      // the EndpointSlice controller needs one slice per port mapping.
      const svc = 'e2e-slices';
      try {
        await ctx.apply(
          echoDeployment('e2e-slices-a', 1, [{ name: 'web', containerPort: 8080 }, { name: 'admin', containerPort: 9000 }], { labels: { svc } }),
          echoDeployment('e2e-slices-b', 1, [{ name: 'web', containerPort: 8081 }, { name: 'admin', containerPort: 9001 }], { labels: { svc } }),
          service(svc, { selector: { svc }, ports: [{ name: 'web', port: 80, targetPort: 'web' }, { name: 'admin', port: 90, targetPort: 'admin' }] }),
        );
        const a = await ctx.waitForPods('e2e-slices-a', 1);
        const b = await ctx.waitForPods('e2e-slices-b', 1);
        const ip = ctx.service(svc).clusterIP;
        for (const port of [80, 90]) {
          await ctx.eventually(`port ${port} reaches both Deployments`, async () => {
            const by = distinct(answeredBy(await ctx.http(ctx.pod(CLIENT).netns, ip, port, 30)));
            assert.deepEqual(by, distinct([a[0].name, b[0].name]));
          });
        }
      } finally {
        await ctx.delete('service', svc).catch(() => undefined);
        await ctx.delete('deployment', 'e2e-slices-a').catch(() => undefined);
        await ctx.delete('deployment', 'e2e-slices-b').catch(() => undefined);
      }
    },
  },
  {
    name: 'NodePort from the external namespace and from pods',
    run: withCleanup('e2e-nodeport', async (ctx) => {
      await deploy(ctx, 'e2e-nodeport', 2, [{ name: 'http', containerPort: 8080 }], { type: 'NodePort', ports: [{ port: 80, targetPort: 8080 }] });
      const nodePort = ctx.nodePort('e2e-nodeport');
      for (const node of ctx.tb.nodes) {
        await ctx.eventually(`external -> ${node.name} ${node.ip}:${nodePort}`, async () => answeredBy(await ctx.http(ctx.tb.external.netns, node.ip, nodePort, 2)));
        await ctx
          .eventually(`pod -> ${node.name} ${node.ip}:${nodePort}`, async () => answeredBy(await ctx.http(ctx.pod(CLIENT).netns, node.ip, nodePort, 2)))
          .catch(async (err: Error) => {
            const client = ctx.tb.nodes.find((n) => n.name === ctx.pod(CLIENT).node)!;
            const evidence = await diagnoseNodePortPath(ctx, client, node, nodePort, ctx.pod(CLIENT).netns);
            throw new AssertionError({ message: `${err.message}\n${evidence}` });
          });
      }
    }),
  },
  {
    name: 'ExternalIPs',
    run: withCleanup('e2e-extip', async (ctx) => {
      const externalIP = '198.19.200.10';
      await deploy(ctx, 'e2e-extip', 2, [{ name: 'http', containerPort: 8080 }], { externalIPs: [externalIP], ports: [{ port: 80, targetPort: 8080 }] });
      await ctx.eventually(`external -> ${externalIP}:80`, async () => answeredBy(await ctx.http(ctx.tb.external.netns, externalIP, 80, 4)));
    }),
  },
  {
    name: 'session affinity ClientIP: one backend per client, switched on and off, timeout expires',
    run: withCleanup('e2e-affinity', async (ctx) => {
      const timeoutSeconds = 3;
      const affinity = { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds } } };
      await deploy(ctx, 'e2e-affinity', 4, [{ name: 'http', containerPort: 8080 }], { ports: [{ port: 80, targetPort: 8080 }], ...affinity });
      const ip = ctx.service('e2e-affinity').clusterIP;
      const client = ctx.pod(CLIENT).netns;
      await ctx.eventually('all requests from one client hit one backend', async () => {
        const by = distinct(answeredBy(await ctx.http(client, ip, 80, 20)));
        assert.equal(by.length, 1, `answered by ${by}`);
      });
      // Off: new connections spread again.
      await ctx.apply(service('e2e-affinity', { selector: { app: 'e2e-affinity' }, ports: [{ port: 80, targetPort: 8080 }], sessionAffinity: 'None' }));
      await ctx.eventually('without affinity the requests spread', async () => {
        const by = distinct(answeredBy(await ctx.http(client, ip, 80, 20)));
        assert.ok(by.length > 1, `all 20 requests went to ${by}`);
      });
      // On again, then let the affinity time out: some later client must land elsewhere.
      await ctx.apply(service('e2e-affinity', { selector: { app: 'e2e-affinity' }, ports: [{ port: 80, targetPort: 8080 }], ...affinity }));
      const first = await ctx.eventually('affinity on again', async () => {
        const by = distinct(answeredBy(await ctx.http(client, ip, 80, 10)));
        assert.equal(by.length, 1, `answered by ${by}`);
        return by[0];
      });
      let moved = false;
      for (let i = 0; i < 6 && !moved; i++) {
        await sleep((timeoutSeconds + 1.5) * 1000);
        const [pod] = answeredBy(await ctx.http(client, ip, 80, 1));
        moved = pod !== first;
      }
      assert.ok(moved, `after ${timeoutSeconds}s without traffic the affinity should expire, but 6 tries all went to ${first}`);
    }),
  },
  {
    name: 'rejected quickly when no endpoints exist, and after the last endpoint is deleted',
    run: withCleanup('e2e-reject', async (ctx) => {
      await ctx.apply(service('e2e-reject', { selector: { app: 'e2e-reject' }, ports: [{ name: 'tcp', port: 80, targetPort: 8080 }, { name: 'udp', port: 81, protocol: 'UDP', targetPort: 8081 }] }));
      await ctx.refresh();
      const ip = ctx.service('e2e-reject').clusterIP;
      const client = ctx.pod(CLIENT).netns;
      await ctx.eventually('TCP to a Service without endpoints is refused', async () => assertRefused(await ctx.http(client, ip, 80, 2), 'no endpoints (TCP)'));
      await ctx.eventually('UDP to a Service without endpoints is refused', async () => assertRefused(await ctx.udp(client, ip, 81, 2), 'no endpoints (UDP)'));
      await ctx.apply(echoDeployment('e2e-reject', 1, [{ name: 'tcp', containerPort: 8080 }, { name: 'udp', containerPort: 8081, protocol: 'UDP' }]));
      await ctx.waitForPods('e2e-reject', 1);
      await ctx.eventually('served once an endpoint exists', async () => answeredBy(await ctx.http(client, ip, 80, 2)));
      await ctx.scale('e2e-reject', 0);
      await ctx.waitForPods('e2e-reject', 0);
      await ctx.eventually('refused again after the last endpoint is deleted', async () => assertRefused(await ctx.http(client, ip, 80, 2), 'endpoints deleted (TCP)'));
    }),
  },
  {
    name: 'hairpin: a pod reaches itself through its Service; the source pod IP is preserved',
    run: withCleanup('e2e-hairpin', async (ctx) => {
      const [self] = await deploy(ctx, 'e2e-hairpin', 1, [{ name: 'http', containerPort: 8080 }], { ports: [{ port: 80, targetPort: 8080 }] });
      const ip = ctx.service('e2e-hairpin').clusterIP;
      await ctx.eventually('the pod reaches itself', async () => {
        const [by] = answeredBy(await ctx.http(ctx.pod(self).netns, ip, 80, 1));
        assert.equal(by, self);
      });
      const client = ctx.pod(CLIENT);
      await ctx.eventually('another pod is seen with its own address', async () => {
        const [a] = await ctx.http(client.netns, ip, 80, 1);
        assert.ok(a.ok, `no answer: ${a.error}`);
        assert.equal(a.answer!.client.split(':')[0], client.ip, 'the backend must see the client pod IP (no SNAT)');
      });
    }),
  },
  {
    name: 'service-proxy-name: a labelled Service is not served until the label is removed; headless is not served',
    run: async (ctx) => {
      const name = 'e2e-proxyname';
      try {
        await deploy(ctx, name, 1, [{ name: 'http', containerPort: 8080 }], { ports: [{ port: 80, targetPort: 8080 }] }, { labels: { 'service.kubernetes.io/service-proxy-name': 'some-other-proxy' } });
        const ip = ctx.service(name).clusterIP;
        const client = ctx.pod(CLIENT).netns;
        await sleep(3000);
        const attempts = await ctx.probe<Attempt[]>(client, { kind: 'http', host: ip, port: 80, count: 2, timeoutMs: 1000 });
        assert.ok(attempts.every((a) => !a.ok), `a Service for another proxy was served by ${attempts.find((a) => a.ok)?.answer?.pod}`);
        await ctx.apply(service(name, { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] }));
        await ctx.eventually('served once the label is gone', async () => answeredBy(await ctx.http(client, ip, 80, 2)));
        await ctx.apply(service(`${name}-headless`, { clusterIP: 'None', selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] }));
        await ctx.refresh();
        const headless = ctx.service(`${name}-headless`);
        assert.ok(headless.clusterIP === 'None' || headless.clusterIP === '' || headless.clusterIP == null, `a headless Service got ClusterIP ${headless.clusterIP}`);
      } finally {
        await ctx.delete('service', `${name}-headless`).catch(() => undefined);
        await cleanup(ctx, name);
      }
    },
  },
  {
    name: 'internalTrafficPolicy=Local: only endpoints on the client node',
    run: withCleanup('e2e-itp', async (ctx) => {
      const pods = await deploy(ctx, 'e2e-itp', ctx.tb.nodes.length * 2, [{ name: 'http', containerPort: 8080 }], { internalTrafficPolicy: 'Local', ports: [{ port: 80, targetPort: 8080 }] });
      const ip = ctx.service('e2e-itp').clusterIP;
      const client = ctx.pod(CLIENT);
      const local = ctx.podsOf('e2e-itp').filter((p) => p.node === client.node).map((p) => p.name);
      assert.ok(local.length > 0, `no e2e-itp pod on ${client.node} among ${pods}`);
      await ctx.eventually('answers only from the client node', async () => {
        const by = answeredBy(await ctx.http(client.netns, ip, 80, 12));
        assert.ok(by.every((p) => local.includes(p)), `answers from ${distinct(by)}, local pods are ${local}`);
      });
    }),
  },
  {
    name: 'externalTrafficPolicy=Local: NodePort answered by that node, client address kept',
    run: withCleanup('e2e-etp', async (ctx) => {
      await deploy(ctx, 'e2e-etp', ctx.tb.nodes.length * 2, [{ name: 'http', containerPort: 8080 }], { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ port: 80, targetPort: 8080 }] });
      const nodePort = ctx.nodePort('e2e-etp');
      for (const node of ctx.tb.nodes) {
        const local = ctx.podsOf('e2e-etp').filter((p) => p.node === node.name).map((p) => p.name);
        if (local.length === 0) continue;
        await ctx.eventually(`external -> ${node.name}:${nodePort} stays on ${node.name}`, async () => {
          const attempts = await ctx.http(ctx.tb.external.netns, node.ip, nodePort, 6);
          const by = answeredBy(attempts);
          assert.ok(by.every((p) => local.includes(p)), `answers from ${distinct(by)}, ${node.name}'s pods are ${local}`);
          for (const a of attempts) assert.equal(a.answer!.client.split(':')[0], ctx.tb.external.ip, 'the client address must be kept');
        });
      }
    }),
  },
  {
    name: 'healthCheckNodePort: every node answers 200 with its local endpoint count, 503 without one (as kube-proxy)',
    run: withCleanup('e2e-hc', async (ctx) => {
      await deploy(ctx, 'e2e-hc', 1, [{ name: 'http', containerPort: 8080 }], { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80, targetPort: 8080 }] });
      const port = ctx.service('e2e-hc').healthCheckNodePort;
      assert.ok(port, 'the API server allocated a healthCheckNodePort');
      const probe = async (nodeIp: string): Promise<{ code: number; body: { localEndpoints?: number; service?: { name: string } } }> => {
        // What a cloud load balancer does: an HTTP GET from outside the cluster.
        const r = await runInNetns(ctx.tb.external.netns, ['curl', '-s', '--max-time', '3', '-w', '\n%{http_code}', `http://${nodeIp}:${port}/healthz`], 10_000);
        const lines = r.stdout.trim().split('\n');
        return { code: Number(lines.at(-1)), body: lines.length > 1 ? (JSON.parse(lines.slice(0, -1).join('\n')) as { localEndpoints?: number }) : {} };
      };
      const check = async (): Promise<void> => {
        await ctx.refresh();
        for (const node of ctx.tb.nodes) {
          const local = ctx.podsOf('e2e-hc').filter((p) => p.node === node.name && p.ready).length;
          const r = await probe(node.ip);
          assert.equal(r.code, local > 0 ? 200 : 503, `${node.name} (${local} local) answered ${r.code}`);
          assert.equal(r.body.localEndpoints, local, `${node.name}: ${JSON.stringify(r.body)}`);
          assert.equal(r.body.service?.name, 'e2e-hc');
        }
      };
      await ctx.eventually('each node answers for its own endpoints', check);
      // A second pod: the answers follow the endpoints.
      await ctx.scale('e2e-hc', 2);
      await ctx.waitForPods('e2e-hc', 2);
      await ctx.eventually('the answers follow a scale-up', check);
    }),
  },
  {
    name: 'loadBalancerSourceRanges: the LoadBalancer IP serves only the listed sources, inside and outside the cluster; others are dropped; ClusterIP and NodePort stay open',
    run: withCleanup('e2e-lbsr', async (ctx) => {
      const name = 'e2e-lbsr';
      const lbIP = '198.19.200.30';
      const [inside, other, outside] = [ctx.pod(CLIENT), ctx.pod(CLIENT_2), ctx.tb.external];
      const lbService = (ranges: string[]) => service(name, { selector: { app: name }, type: 'LoadBalancer', loadBalancerSourceRanges: ranges, ports: [{ port: 80, targetPort: 8080 }] });
      await ctx.apply(echoDeployment(name, 2, [{ name: 'http', containerPort: 8080 }]), lbService([`${inside.ip}/32`, `${outside.ip}/32`]));
      await ctx.waitForPods(name, 2);
      // The part of a cloud's load balancer controller: publish the address.
      const api = await ApiClient.fromKubeconfig(ctx.tb.kubeconfig!);
      try {
        await api.patchStatus({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' } }, { loadBalancer: { ingress: [{ ip: lbIP }] } });
      } finally {
        api.close();
      }
      const served = (from: string, who: string) => ctx.eventually(`${who} -> ${lbIP}:80 is served`, async () => answeredBy(await ctx.http(from, lbIP, 80, 2)));
      // Dropped as kube-proxy's firewall drops: the client times out, it is not refused.
      const dropped = (from: string, who: string) =>
        ctx.eventually(`${who} -> ${lbIP}:80 is dropped`, async () => {
          const attempts = await ctx.probe<Attempt[]>(from, { kind: 'http', host: lbIP, port: 80, count: 2, timeoutMs: 1500 });
          for (const a of attempts) assert.ok(!a.ok && a.error === 'ETIMEDOUT', `expected a timeout, got ${a.ok ? `an answer from ${a.answer?.pod}` : a.error}`);
        });
      await served(inside.netns, `pod ${inside.name} (listed)`);
      await served(outside.netns, 'the external client (listed)');
      await dropped(other.netns, `pod ${other.name} (not listed)`);
      await ctx.refresh();
      const clusterIP = ctx.service(name).clusterIP;
      const nodePort = ctx.nodePort(name);
      await ctx.eventually(`pod ${other.name} -> the ClusterIP is served`, async () => answeredBy(await ctx.http(other.netns, clusterIP, 80, 2)));

      // The ranges change: the newly listed source is let in, the others are dropped.
      await ctx.apply(lbService([`${other.ip}/32`]));
      await served(other.netns, `pod ${other.name} (now listed)`);
      await dropped(inside.netns, `pod ${inside.name} (no longer listed)`);
      await dropped(outside.netns, 'the external client (no longer listed)');
      const node = ctx.tb.nodes[0]!;
      await ctx.eventually(`the external client -> ${node.name}:${nodePort} (a NodePort is not restricted)`, async () => answeredBy(await ctx.http(outside.netns, node.ip, nodePort, 2)));

      // No ranges: open to everyone again.
      await ctx.apply(lbService([]));
      await served(inside.netns, `pod ${inside.name} (no ranges)`);
      await served(outside.netns, 'the external client (no ranges)');
    }),
  },
  {
    name: 'fallback to terminating endpoints when no ready ones are left',
    run: withCleanup('e2e-terminating', async (ctx) => {
      await ctx.apply(
        echoDeployment('e2e-terminating', 1, [{ name: 'http', containerPort: 8080 }], { grace: 20 }),
        service('e2e-terminating', { selector: { app: 'e2e-terminating' }, ports: [{ port: 80, targetPort: 8080 }] }),
      );
      const [old] = await ctx.waitForPods('e2e-terminating', 1);
      const ip = ctx.service('e2e-terminating').clusterIP;
      const client = ctx.pod(CLIENT).netns;
      await ctx.eventually('served', async () => answeredBy(await ctx.http(client, ip, 80, 2)));
      // Scale to zero: the only pod is terminating (20 s grace) and still serving.
      await ctx.scale('e2e-terminating', 0);
      await ctx.eventually('the terminating pod still answers new connections', async () => {
        const by = answeredBy(await ctx.http(client, ip, 80, 3));
        assert.ok(by.every((p) => p === old.name), `answered by ${distinct(by)}`);
      }, 10_000);
    }),
  },
  {
    name: 'UDP: request/response through a ClusterIP, and after the server pod is replaced',
    run: withCleanup('e2e-udp', async (ctx) => {
      const [first] = await deploy(ctx, 'e2e-udp', 1, [{ name: 'dns', containerPort: 5300, protocol: 'UDP' }], { ports: [{ port: 53, protocol: 'UDP', targetPort: 5300 }] });
      const ip = ctx.service('e2e-udp').clusterIP;
      const client = ctx.pod(CLIENT).netns;
      await ctx.eventually('UDP answers', async () => answeredBy(await ctx.udp(client, ip, 53, 5)));
      await ctx.delete('pod', first);
      await ctx.eventually('a new pod replaces the old one', async () => {
        await ctx.refresh();
        const pods = ctx.podsOf('e2e-udp').filter((p) => p.ready && p.name !== first);
        assert.equal(pods.length, 1);
      }, 60_000);
      await ctx.eventually('UDP answered by the new pod', async () => {
        const by = answeredBy(await ctx.udp(client, ip, 53, 5));
        assert.ok(by.every((p) => p !== first), `still answered by the deleted ${first}`);
      });
    }),
  },
  {
    // Bad input loses nothing: the Service that cannot be programmed is told
    // why on an Event naming the field, and the one that owns the frontend
    // keeps serving. kube-proxy programs both (the first rule wins) and says nothing.
    name: 'a frontend claimed by two Services: an Event names the later one\'s field, the earlier keeps serving',
    modes: ['talaria'],
    run: async (ctx) => {
      const externalIP = '198.19.200.20';
      const [first, second] = ['e2e-conflict-a', 'e2e-conflict-b'];
      try {
        const pods = await deploy(ctx, first, 1, [{ name: 'http', containerPort: 8080 }], { externalIPs: [externalIP], ports: [{ port: 80, targetPort: 8080 }] });
        await ctx.eventually(`external -> ${externalIP}:80`, async () => answeredBy(await ctx.http(ctx.tb.external.netns, externalIP, 80, 2)));
        await ctx.apply(service(second, { selector: { app: first }, externalIPs: [externalIP], ports: [{ port: 80, targetPort: 8080 }] }));
        const event = await ctx.eventually(`an Event on Service ${second}`, async () => {
          const api = await ApiClient.fromKubeconfig(ctx.tb.kubeconfig!);
          try {
            const events = await api.list<{ reason: string; message: string; involvedObject: { name: string; fieldPath?: string } }>(`/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${second}`)}`);
            const e = events.find((x) => x.reason === 'TalariaFrontendConflict');
            assert.ok(e, `no TalariaFrontendConflict Event yet (${events.map((x) => x.reason).join(', ') || 'none'})`);
            return e;
          } finally {
            api.close();
          }
        }, 60_000);
        assert.equal(event.involvedObject.fieldPath, 'spec.externalIPs[0]');
        assert.match(event.message, new RegExp(`^spec\\.externalIPs\\[0\\]: frontend ${externalIP.replace(/\./g, '\\.')}:80/TCP is already used by Service default/${first}`));
        // The owner keeps its frontend; the later Service's ClusterIP is programmed all the same.
        const by = answeredBy(await ctx.http(ctx.tb.external.netns, externalIP, 80, 4));
        assert.deepEqual(distinct(by), pods);
        await ctx.refresh();
        await ctx.eventually(`${second}'s ClusterIP answers`, async () => answeredBy(await ctx.http(ctx.pod(CLIENT).netns, ctx.service(second).clusterIP, 80, 2)));
      } finally {
        await ctx.delete('service', second).catch(() => undefined);
        await cleanup(ctx, first);
      }
    },
  },
  {
    name: 'spreading: 1,000 new connections over 4 endpoints, each gets 150..350',
    run: withCleanup('e2e-spread', async (ctx) => {
      const pods = await deploy(ctx, 'e2e-spread', 4, [{ name: 'http', containerPort: 8080 }], { ports: [{ port: 80, targetPort: 8080 }] });
      const ip = ctx.service('e2e-spread').clusterIP;
      const client = ctx.pod(CLIENT_2).netns;
      await ctx.eventually('all four endpoints programmed', async () => {
        assert.equal(distinct(answeredBy(await ctx.http(client, ip, 80, 40))).length, 4);
      });
      const by = answeredBy(await ctx.http(client, ip, 80, 1000));
      const counts = Object.fromEntries(pods.map((p) => [p, by.filter((x) => x === p).length]));
      // Expected 250 each; a binomial spread of +-100 is over 7 standard deviations.
      for (const [p, n] of Object.entries(counts)) assert.ok(n >= 150 && n <= 350, `endpoint ${p} got ${n} of 1000 (counts ${JSON.stringify(counts)})`);
    }),
  },
];
