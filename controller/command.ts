// `talaria controller`: watches Services, EndpointSlices and Nodes and keeps
// the switch's tables equal to what they say (P4Runtime), as the leader of a
// coordination.k8s.io Lease.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { UserError, flagValue } from '../cli/errors.js';
import { durationMs } from '../cli/duration.js';
import { logFormatOption, makeLog, type LogFormat } from '../cli/log.js';
import { startTelemetry } from '../observability/telemetry.js';
import { Controller, loadKubeconfig } from './controller.js';
import { parseExternalRoute, parseNodeSwitchPort, parsePortMac, type ExternalRoute, type PortMac } from './desired/nodes.js';
import { parseNodePortAddresses, type NodePortAddresses } from '../proxy/frontends.js';
import { clientChannel } from '../p4/transport.js';
import { addClientTransportOptions, clientTransport, type ClientTransportFlags } from '../p4/transport-flags.js';

interface Flags extends ClientTransportFlags {
  kubeconfig: string;
  switch: string;
  p4runtime?: string;
  deviceId: string;
  deviceConfig?: string;
  electionId: string;
  externalRoute: ExternalRoute[];
  portMac: PortMac[];
  nodeSwitchPort: { node: string; port: number }[];
  nodeportAddresses: NodePortAddresses;
  healthzBindAddress: string;
  metricsBindAddress: string;
  leaderElect: boolean;
  leaderElectLeaseNamespace: string;
  leaderElectLeaseName: string;
  leaderElectLeaseDuration: string;
  serviceProxyName?: string;
  minSyncPeriod: string;
  syncPeriod: string;
  logFormat: LogFormat;
}

/** A repeatable flag whose values `parse` checks; its message becomes the user's error. */
function repeatable<T>(parse: (text: string) => T): (text: string, acc: T[]) => T[] {
  const one = flagValue(parse);
  return (text, acc) => [...acc, one(text)];
}

/** The topology flags as a map; a node named twice is a mistake, not an override. */
function nodeSwitchPorts(entries: readonly { node: string; port: number }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of entries) {
    if (out.has(e.node) && out.get(e.node) !== e.port) throw new UserError(`--node-switch-port ${e.node}: given twice (ports ${out.get(e.node)} and ${e.port})`);
    out.set(e.node, e.port);
  }
  return out;
}

function positiveInt(name: string, text: string): bigint {
  if (!/^\d+$/.test(text) || BigInt(text) === 0n) throw new UserError(`${name} ${JSON.stringify(text)}: expected a positive integer`);
  return BigInt(text);
}


export const controllerCommand = addClientTransportOptions(new Command('controller'))
  .description('program the switch (P4Runtime) from Kubernetes Services and EndpointSlices, like kube-proxy')
  .option('--config <file>', 'a TalariaConfiguration (YAML or JSON) for the flags below; a flag on the command line wins (docs/configuration.md)')
  .requiredOption('--kubeconfig <file>', 'kubeconfig of the API server')
  .option('--switch <host:port>', "the switch's P4Runtime server", '127.0.0.1:9559')
  .addOption(new Option('--p4runtime <host:port>', 'same as --switch').hideHelp())
  .option('--device-id <n>', 'P4Runtime device id', '1')
  .option('--device-config <file>', "the switch target's device config, sent with the pipeline (BMv2: the JSON p4c wrote for talaria.p4); none for the software switch")
  .option('--election-id <n>', 'P4Runtime election id (high 64 bits; the low bits count Lease transitions)', '1')
  .option(
    '--external-route <cidr=port,mac>',
    'a prefix outside the cluster and the switch port/MAC towards it (repeatable)',
    repeatable(parseExternalRoute),
    [] as ExternalRoute[],
  )
  .option(
    '--port-mac <port=mac>',
    "a switch port's own MAC, the source MAC of packets leaving it (repeatable; a port without one leaves the sender's MAC)",
    repeatable(parsePortMac),
    [] as PortMac[],
  )
  .option(
    '--node-switch-port <node=port>',
    'the switch port that leads to a node (repeatable; the rack topology; a Node annotated talaria.io/switch-port overrides it)',
    repeatable(parseNodeSwitchPort),
    [] as { node: string; port: number }[],
  )
  // Not kube-proxy's 10256/10249: on the host network they are the node agent's.
  .option('--nodeport-addresses <cidr,...>', "the node addresses NodePorts answer on, as kube-proxy's flag (default: every InternalIP; the node agents get the same value)", flagValue(parseNodePortAddresses), [] as NodePortAddresses)
  .option('--healthz-bind-address <host:port>', 'health endpoint (/healthz, /livez); "" disables', '127.0.0.1:10262')
  .option('--metrics-bind-address <host:port>', 'metrics endpoint (/metrics, /proxyMode); "" disables', '127.0.0.1:10263')
  .addOption(new Option('--no-leader-elect', 'write without holding the Lease (a single controller)'))
  .option('--leader-elect-lease-namespace <ns>', 'namespace of the leader Lease', 'kube-system')
  .option('--leader-elect-lease-name <name>', 'name of the leader Lease', 'talaria-controller')
  .option('--leader-elect-lease-duration <d>', 'Lease duration (a standby takes over after this without renewals)', '15s')
  .option('--service-proxy-name <name>', 'handle only Services labelled service.kubernetes.io/service-proxy-name=<name>')
  .option('--min-sync-period <d>', 'minimum time between syncs (changes in between are coalesced)', '10ms')
  .option('--sync-period <d>', 'full resync period (re-reads the switch)', '60s')
  .addOption(logFormatOption())
  .action(async (f: Flags) => {
    const log = makeLog('controller', f.logFormat);
    let kubeconfig;
    try {
      kubeconfig = loadKubeconfig(f.kubeconfig);
    } catch (e) {
      throw new UserError(`--kubeconfig ${f.kubeconfig}: ${(e as Error).message}`);
    }
    let deviceConfig: Buffer | undefined;
    if (f.deviceConfig !== undefined) {
      try {
        deviceConfig = readFileSync(f.deviceConfig);
      } catch (e) {
        throw new UserError(`--device-config ${f.deviceConfig}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
      if (deviceConfig.length === 0) throw new UserError(`--device-config ${f.deviceConfig}: the file is empty`);
    }
    const switchTransport = clientTransport(f);
    try {
      clientChannel(switchTransport);
    } catch (e) {
      throw new UserError(`the switch's TLS: ${(e as Error).message}`);
    }
    const leaseMs = durationMs('--leader-elect-lease-duration', f.leaderElectLeaseDuration);
    const telemetry = startTelemetry({ serviceName: 'talaria-controller' });
    const controller = new Controller({
      kubeconfig,
      switchAddress: f.p4runtime ?? f.switch,
      switchTransport,
      deviceId: positiveInt('--device-id', f.deviceId),
      deviceConfig,
      electionId: positiveInt('--election-id', f.electionId),
      registry: telemetry.registry,
      tracer: telemetry.tracer,
      externalRoutes: f.externalRoute,
      portMacs: f.portMac,
      nodeSwitchPorts: nodeSwitchPorts(f.nodeSwitchPort),
      nodePortAddresses: f.nodeportAddresses,
      serviceProxyName: f.serviceProxyName,
      lease: f.leaderElect
        ? { namespace: f.leaderElectLeaseNamespace, name: f.leaderElectLeaseName, durationMs: leaseMs, renewDeadlineMs: (leaseMs * 2) / 3, retryPeriodMs: Math.max(200, leaseMs / 7.5) }
        : undefined,
      healthzAddress: f.healthzBindAddress,
      metricsAddress: f.metricsBindAddress,
      minSyncIntervalMs: durationMs('--min-sync-period', f.minSyncPeriod),
      syncPeriodMs: durationMs('--sync-period', f.syncPeriod),
      log,
    });
    const stop = async (): Promise<void> => {
      await controller.stop();
      await telemetry.shutdown();
    };
    const signalled = new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    });
    try {
      await Promise.race([controller.start(), signalled]);
    } catch (e) {
      await stop();
      throw new UserError(`controller: ${(e as Error).message}`);
    }
    log(`running as ${controller.identity} (healthz :${controller.ports.healthz}, metrics :${controller.ports.metrics}, switch ${f.p4runtime ?? f.switch})`);
    await signalled;
    log('stopping');
    await stop();
  });
