// `talaria nodeagent`: the per-node daemon (kube-proxy's place on a node).
// --cleanup undoes what it leaves behind on purpose (attached programs,
// pinned maps), like kube-proxy --cleanup.
import { Command, Option } from 'commander';
import { KubeConfig } from '@kubernetes/client-node';
import { UserError } from '../cli/errors.js';
import { startTelemetry } from '../observability/telemetry.js';
import { HealthTracker } from '../observability/health.js';
import { startProxyServers } from '../observability/proxy-server.js';
import { DEFAULT_PIN_DIR, removePinDir } from '../bpf/loader/pin.js';
import { HOST_MAPS } from '../bpf/layouts/host-maps.js';
import { NodeAgent } from './agent.js';
import { HostDatapath } from './datapath.js';
import { listPodInterfaces } from './interfaces.js';
import { AgentMetrics } from './metrics.js';

interface Flags {
  node: string;
  serviceProxyName?: string;
  kubeconfig: string;
  uplink: string;
  netns?: string;
  pinDir: string;
  gatewayMac?: string;
  podGatewayIf: string;
  clusterCidr: string;
  bpfObject?: string;
  redirectPeer: boolean;
  maxConnections?: string;
  healthzBindAddress: string;
  metricsBindAddress: string;
  cleanup?: boolean;
}

function maxEntries(v: string | undefined): Record<string, number> | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 16 || n > 1 << 24) throw new UserError(`--max-connections ${v}: an integer from 16 to ${1 << 24}`);
  return { [HOST_MAPS.conns]: n, [HOST_MAPS.replies]: n };
}

const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} nodeagent: ${line}\n`);
};

/** Detaches the agent's programs from the uplink and every veth, removes the pins. */
async function cleanup(f: Flags): Promise<void> {
  const dp = HostDatapath.open({ objectPath: f.bpfObject, netns: f.netns });
  try {
    for (const ifname of [f.uplink, ...(await listPodInterfaces(f.netns)).map((i) => i.hostIfname)]) {
      try {
        if (dp.detach(ifname)) log(`detached from ${ifname}`);
      } catch (e) {
        log(`detach from ${ifname}: ${(e as Error).message}`);
      }
    }
  } finally {
    dp.close();
  }
  removePinDir(f.pinDir);
}

export const nodeagentCommand = new Command('nodeagent')
  .description('per-node agent: eBPF fast path between pod veths and the uplink, service connections pinned at the hosts')
  .requiredOption('--node <name>', 'this node (Pods with this spec.nodeName)')
  .requiredOption('--kubeconfig <file>', 'kubeconfig of the API server')
  .requiredOption('--uplink <if>', "the node's interface to the switch")
  .option('--netns <ns>', "the node's network namespace (ip netns name); default: where the agent runs")
  .option('--pin-dir <dir>', 'bpffs directory for maps and programs (reused on restart)', DEFAULT_PIN_DIR)
  .option('--gateway-mac <mac>', "the switch's MAC (default: neighbour entry of the uplink's default gateway)")
  .option('--pod-gateway-if <if>', "the pods' gateway interface (its MAC is the source of delivered packets)", 'cni0')
  .option('--cluster-cidr <cidr>', 'pod CIDR of the whole cluster', '10.244.0.0/16')
  .option('--bpf-object <file>', 'compiled host programs (default: build/bpf/host.bpf.o)')
  .option('--max-connections <n>', 'capacity of the connection and reply maps (LRU; default 65536; a pinned map keeps its size until --cleanup)')
  .addOption(new Option('--no-redirect-peer', 'deliver into pods with bpf_redirect instead of bpf_redirect_peer'))
  .option('--healthz-bind-address <host:port>', 'health endpoint (/healthz, /livez)', '127.0.0.1:10256')
  .option('--metrics-bind-address <host:port>', 'metrics endpoint (/metrics, /proxyMode)', '127.0.0.1:10249')
  .option('--service-proxy-name <name>', 'handle only Services labelled service.kubernetes.io/service-proxy-name=<name> (as the controller, with the same value)')
  .option('--cleanup', 'detach the programs and remove the pins, then exit')
  .action(async (f: Flags) => {
    if (f.cleanup) {
      await cleanup(f);
      return;
    }
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(f.kubeconfig);
    } catch (e) {
      throw new UserError(`--kubeconfig ${f.kubeconfig}: ${(e as Error).message}`);
    }
    const telemetry = startTelemetry({ serviceName: 'talaria-node-agent' });
    const health = new HealthTracker();
    const metrics = new AgentMetrics(telemetry.registry);
    const servers = await startProxyServers({
      registry: telemetry.registry,
      health,
      healthzAddress: f.healthzBindAddress,
      metricsAddress: f.metricsBindAddress,
      proxyMode: 'talaria',
    });
    const agent = new NodeAgent({
      nodeName: f.node,
      serviceProxyName: f.serviceProxyName,
      kubeconfig: kc,
      uplink: f.uplink,
      netns: f.netns,
      pinDir: f.pinDir,
      gatewayMac: f.gatewayMac,
      podGatewayIf: f.podGatewayIf,
      clusterCidr: f.clusterCidr,
      objectPath: f.bpfObject,
      redirectPeer: f.redirectPeer,
      maxEntries: maxEntries(f.maxConnections),
      metrics,
      health,
      log,
    });
    const shutdown = async (): Promise<void> => {
      await agent.stop();
      await servers.close();
      await telemetry.shutdown();
    };
    try {
      await agent.start();
    } catch (e) {
      await shutdown();
      throw new UserError(`node agent ${f.node}: ${(e as Error).message}`);
    }
    log(`ready (healthz :${servers.healthzPort}, metrics :${servers.metricsPort})`);
    await new Promise<void>((resolve) => {
      const done = (): void => resolve();
      process.once('SIGTERM', done);
      process.once('SIGINT', done);
    });
    log('stopping (programs stay attached, maps stay pinned)');
    await shutdown();
  });
