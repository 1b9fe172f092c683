// `talaria nodeagent`: the per-node daemon (kube-proxy's place on a node).
// It leaves its programs attached and maps pinned when it stops, except when
// its DaemonSet is being deleted (an uninstall); --cleanup undoes them by
// hand, like kube-proxy --cleanup (nodeagent/uninstall.ts).
import { Command, Option } from 'commander';
import { KubeConfig } from '@kubernetes/client-node';
import { UserError, flagValue } from '../cli/errors.js';
import { startTelemetry } from '../observability/telemetry.js';
import { HealthTracker } from '../observability/health.js';
import { startProxyServers } from '../observability/proxy-server.js';
import { DEFAULT_PIN_DIR } from '../bpf/loader/pin.js';
import { HOST_MAPS } from '../bpf/layouts/host-maps.js';
import { NodeAgent } from './agent.js';
import { AgentMetrics } from './metrics.js';
import { parseNodePortAddresses, type NodePortAddresses } from '../proxy/frontends.js';
import { DEFAULT_GC_TIMEOUTS } from './gc.js';
import { durationSeconds } from '../cli/duration.js';
import { logFormatOption, makeLog, type Log, type LogFormat } from '../cli/log.js';
import { beingUninstalled, removeFromNode } from './uninstall.js';

interface Flags {
  node?: string;
  serviceProxyName?: string;
  nodeportAddresses: NodePortAddresses;
  kubeconfig?: string;
  uplink: string;
  netns?: string;
  pinDir: string;
  gatewayMac?: string;
  podGatewayIf: string;
  clusterCidr: string;
  bpfObject?: string;
  redirectPeer: boolean;
  maxConnections?: string;
  conntrackTcpTimeoutEstablished: string;
  conntrackTcpTimeoutCloseWait: string;
  conntrackUdpTimeout: string;
  healthzBindAddress: string;
  metricsBindAddress: string;
  cleanup?: boolean;
  logFormat: LogFormat;
}

function maxEntries(v: string | undefined): Record<string, number> | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 16 || n > 1 << 24) throw new UserError(`--max-connections ${v}: an integer from 16 to ${1 << 24}`);
  return { [HOST_MAPS.conns]: n, [HOST_MAPS.replies]: n };
}

let log: Log = makeLog('nodeagent');

/** Detaches the agent's programs from every interface, removes its pins; what it did goes to the log. */
function cleanup(f: { netns?: string; pinDir: string }): void {
  const r = removeFromNode({ netns: f.netns, pinDir: f.pinDir });
  log(`cleanup: detached from ${r.detached.length ? r.detached.join(', ') : 'no interface'}; removed ${r.unpinned.length} pins from ${f.pinDir}`);
}

export const nodeagentCommand = new Command('nodeagent')
  .description('per-node agent: eBPF fast path between pod veths and the uplink, service connections pinned at the hosts')
  .option('--config <file>', 'a TalariaConfiguration (YAML or JSON) for the flags below; a flag on the command line wins (docs/configuration.md)')
  .option('--node <name>', 'this node (Pods with this spec.nodeName); required unless --cleanup')
  .option('--kubeconfig <file>', 'kubeconfig of the API server; required unless --cleanup')
  .option('--uplink <if>', "the node's interface to the switch", 'eth0')
  .option('--netns <ns>', "the node's network namespace (ip netns name); default: where the agent runs")
  .option('--pin-dir <dir>', 'bpffs directory for maps and programs (reused on restart)', DEFAULT_PIN_DIR)
  .option('--gateway-mac <mac>', "the switch's MAC (default: neighbour entry of the uplink's default gateway)")
  .option('--pod-gateway-if <if>', "the pods' gateway interface (its MAC is the source of delivered packets)", 'cni0')
  .option('--cluster-cidr <cidr>', 'pod CIDR of the whole cluster', '10.244.0.0/16')
  .option('--bpf-object <file>', 'compiled host programs (default: build/bpf/host.bpf.o)')
  .option('--max-connections <n>', 'capacity of the connection and reply maps (LRU; default 65536; a pinned map keeps its size until --cleanup)')
  .option('--conntrack-tcp-timeout-established <d>', 'idle time after which a TCP connection entry is forgotten (kube-proxy\'s flag; 24h)', `${DEFAULT_GC_TIMEOUTS.tcpS / 3600}h`)
  .option('--conntrack-tcp-timeout-close-wait <d>', 'the same after a FIN or RST was seen', `${DEFAULT_GC_TIMEOUTS.tcpClosingS}s`)
  .option('--conntrack-udp-timeout <d>', 'the same for UDP (and other protocols)', `${DEFAULT_GC_TIMEOUTS.udpS}s`)
  .addOption(new Option('--no-redirect-peer', 'deliver into pods with bpf_redirect instead of bpf_redirect_peer'))
  .option('--healthz-bind-address <host:port>', 'health endpoint (/healthz, /livez)', '127.0.0.1:10256')
  .option('--metrics-bind-address <host:port>', 'metrics endpoint (/metrics, /proxyMode)', '127.0.0.1:10249')
  .option('--nodeport-addresses <cidr,...>', "the node addresses NodePorts answer on, as kube-proxy's flag (default: every InternalIP; the controller's value)", flagValue(parseNodePortAddresses), [] as NodePortAddresses)
  .option('--service-proxy-name <name>', 'handle only Services labelled service.kubernetes.io/service-proxy-name=<name> (as the controller, with the same value)')
  .addOption(logFormatOption())
  .option('--cleanup', "detach the agent's programs from every interface and remove its pins (--pin-dir, --netns), then exit")
  .addHelpText(
    'after',
    '\nStopped (SIGTERM), the agent leaves its programs attached and its maps pinned, so that a restart breaks no\nconnection. Run as a DaemonSet pod (POD_NAME and POD_NAMESPACE set), it removes them like --cleanup when its\nDaemonSet is gone or being deleted: helm uninstall leaves the nodes clean.',
  )
  .action(async (f: Flags) => {
    log = makeLog('nodeagent', f.logFormat);
    if (f.cleanup) {
      cleanup({ netns: f.netns, pinDir: f.pinDir });
      return;
    }
    if (!f.node) throw new UserError('--node is required (the name of this Node)');
    if (!f.kubeconfig) throw new UserError('--kubeconfig is required');
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
      nodePortAddresses: f.nodeportAddresses,
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
      timeouts: {
        tcpS: durationSeconds('--conntrack-tcp-timeout-established', f.conntrackTcpTimeoutEstablished),
        tcpClosingS: durationSeconds('--conntrack-tcp-timeout-close-wait', f.conntrackTcpTimeoutCloseWait),
        udpS: durationSeconds('--conntrack-udp-timeout', f.conntrackUdpTimeout),
      },
      metrics,
      health,
      log,
      // Health check ports are sockets of this process's namespace: answered
      // when the agent runs in the node's (the DaemonSet), not for --netns.
      healthCheckBindAddress: f.netns ? undefined : '0.0.0.0',
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
    const pod = process.env.POD_NAME && process.env.POD_NAMESPACE ? { name: process.env.POD_NAME, namespace: process.env.POD_NAMESPACE } : undefined;
    const uninstall = pod !== undefined && (await beingUninstalled(kc, pod, log));
    log(uninstall ? 'stopping: the DaemonSet is being deleted, removing the programs and pins' : 'stopping (programs stay attached, maps stay pinned)');
    await shutdown();
    if (uninstall) cleanup({ netns: f.netns, pinDir: f.pinDir });
  });
