// Talaria mode: the switch on tb-switch's ports (Talaria's eBPF software
// switch, or with --switch bmv2 talaria.p4 compiled by p4c and run by BMv2's
// simple_switch_grpc, the P4 reference target; either stands for the rack's
// hardware switch, so the testbed runs it itself), and Talaria installed the
// way a user installs it: `helm install` of charts/talaria on the real
// control plane. The testbed's kubelets then run the chart's controller
// Deployment (two replicas, leader election) and node agent DaemonSet as
// hostNetwork pods in the nodes' namespaces, from the image's file set
// (testbed/image.ts), each with its ServiceAccount's projected token and
// exactly the chart's RBAC. The only testbed-specific values are what an
// operator writes for their cluster: where the API server and the switch
// are, the rack's topology, the switch ports' MACs. P4Runtime is mutual TLS,
// as the chart's default: the testbed is the operator's CA (switchPki), gives
// the switch its server certificate, the controllers theirs as the Secret
// the chart mounts, and keeps a read-only one for the tools.
import { writeFile } from 'node:fs/promises';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { imageTalariaArgv } from './image.js';
import { repoRoot } from '../bpf/testing/paths.js';
import type { ApiClient } from './client.js';
import type { ControlPlane } from './controlplane/control-plane.js';
import { run } from './network/exec.js';
import { UPLINK, externalAddressing, netnsPrefix, switchNetns } from './network/addressing.js';
import type { NodeAddressing } from './network/addressing.js';
import { inNodeNetns, startNodePortRelay } from './node-processes.js';
import { freePort } from './free-port.js';
import { spawnTracked, waitListening } from './processes.js';
import type { SwitchKind, TrackedProcess } from './state.js';
import { bmv2Argv } from '../p4/bmv2/bmv2-process.js';
import { compileForBmv2, findP4Tools } from '../p4/bmv2/toolchain.js';
import { createPki, type CertFiles } from '../p4/testing/pki.js';

/** The chart's release as the testbed installs it. */
export const CHART_RELEASE = 'talaria';
export const CHART_NAMESPACE = 'kube-system';
/** Where the chart's pods reach the API server and the switch inside a node namespace (relays, node-processes.ts). */
const NODE_SWITCH_ADDRESS = '127.0.0.1:9559';
/** The chart's default metrics ports, inside each node's namespace. */
const AGENT_METRICS = '127.0.0.1:10249';
const CONTROLLER_METRICS = '127.0.0.1:10263';
/** The pods' `app.kubernetes.io/component` labels (charts/talaria/templates/_helpers.tpl). */
const COMPONENT_LABEL = 'app.kubernetes.io/component';

/** The name on the switch's certificate, and the names the switch lets write and read (the chart's defaults). */
export const SWITCH_SERVER_NAME = 'talaria-switch';
const CONTROLLER_CERT_NAME = 'talaria-controller';
const READER_CERT_NAME = 'talaria-reader';
/** The chart's default Secret of the controllers' client certificate. */
const CONTROLLER_SECRET = 'talaria-p4runtime-client';

/** A read-only client's certificate for the switch, for the tools (`talaria switch tables --switch-ca-file ...`). */
export interface SwitchReaderTls {
  caFile: string;
  certFile: string;
  keyFile: string;
  serverName: string;
}

interface SwitchPki {
  caFile: string;
  server: CertFiles;
  controller: CertFiles;
  reader: SwitchReaderTls;
}

/** The testbed's CA for P4Runtime and the three certificates: the switch's, the controllers', the tools'. */
function switchPki(dir: string): SwitchPki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pki = createPki(dir, 'talaria-testbed-ca');
  // The controllers dial 127.0.0.1 (a relay in their node); the tools a unix socket, by name.
  const server = pki.issue(SWITCH_SERVER_NAME, { server: { ips: ['127.0.0.1'], dns: [SWITCH_SERVER_NAME] } });
  return { caFile: pki.caFile, server, controller: pki.issue(CONTROLLER_CERT_NAME), reader: { caFile: pki.caFile, ...pki.issue(READER_CERT_NAME), serverName: SWITCH_SERVER_NAME } };
}

/** The flags that give a read-only tool the testbed's reader certificate (none outside talaria mode). */
export function readerFlags(tls: SwitchReaderTls | null): string[] {
  if (!tls) return [];
  return ['--switch-ca-file', tls.caFile, '--switch-cert-file', tls.certFile, '--switch-key-file', tls.keyFile, '--switch-server-name', tls.serverName];
}

/** The subcommands talaria mode runs. */
export const TALARIA_SUBCOMMANDS = ['softswitch', 'controller', 'nodeagent'] as const;

/** The subcommands of talaria mode that a `talaria --help` text does not list. */
export function missingIn(helpText: string): string[] {
  const listed = new Set(
    helpText
      .split('\n')
      .map((l) => /^\s{2}([a-z][a-z0-9-]*)\b/.exec(l)?.[1])
      .filter((x): x is string => !!x),
  );
  return TALARIA_SUBCOMMANDS.filter((c) => !listed.has(c));
}

/** Which of the subcommands the image's file set lacks (from `talaria --help`). */
export async function missingSubcommands(): Promise<string[]> {
  const out = await run(imageTalariaArgv(['--help']), { allowFailure: true });
  return missingIn(out.stdout);
}

/** bpffs directory of a component: the contract's names for the default prefix. */
export function pinDir(component: string): string {
  const p = netnsPrefix();
  return join('/sys/fs/bpf/talaria', p === 'tb-' ? component : `${p}${component}`);
}

/** Where the testbed's software switch pins its tables (a reboot removes them: testbed/faults.ts). */
export function switchPinDir(): string {
  return pinDir('switch');
}

export interface TalariaProcesses {
  processes: TrackedProcess[];
  p4runtime: string;
  /** A read-only certificate for the tools that look at the switch. */
  readerTls: SwitchReaderTls;
  pinDirs: string[];
  /** Each node's relay to the controller metrics port there, for the controller pod that lands on it. */
  controllerMetrics: ReadonlyMap<string, string>;
  /** Each node's relay to its agent's metrics. */
  agentMetrics: ReadonlyMap<string, string>;
}

/** The chart's values for this testbed: what an operator writes for their cluster. */
export function chartValues(o: { nodes: readonly NodeAddressing[]; switchPorts: readonly string[]; deviceConfig: boolean; otlpEndpoint?: string }): Record<string, unknown> {
  const ext = externalAddressing();
  const port = (iface: string): number => o.switchPorts.indexOf(iface) + 1;
  return {
    kubernetesApiServer: { host: '127.0.0.1', port: 6443 },
    switch: { address: NODE_SWITCH_ADDRESS, deviceId: 1, ...(o.deviceConfig ? { deviceConfig: { configMap: 'talaria-device-config', key: 'device-config' } } : {}) },
    externalRoutes: [{ cidr: `${ext.ip}/32`, port: port(ext.switchPort), mac: ext.mac }],
    // Each switch port's own MAC (the one the hosts' neighbour entries name), for the egress_ports table.
    portMacs: [...o.nodes.map((n) => ({ port: port(n.switchPort), mac: n.switchPortMac })), { port: port(ext.switchPort), mac: ext.switchPortMac }],
    nodeSwitchPorts: Object.fromEntries(o.nodes.map((n) => [n.name, port(n.switchPort)])),
    ...(o.otlpEndpoint ? { tracing: { otlpEndpoint: o.otlpEndpoint } } : {}),
    nodeAgent: {
      uplink: UPLINK,
      // One kernel holds every testbed node's pins: a directory per node
      // (the kubelet expands $(NODE_NAME)), where a real node has its own bpffs.
      pinDir: pinDir('$(NODE_NAME)'),
    },
  };
}

/** Starts the switch and installs the chart; the kubelets run its pods. */
export async function startTalaria(opts: {
  controlPlane: ControlPlane;
  api: ApiClient;
  nodes: readonly NodeAddressing[];
  switchPorts: readonly string[];
  switchKind: SwitchKind;
  logDir: string;
  onStarted: (p: TrackedProcess) => Promise<void>;
}): Promise<TalariaProcesses> {
  const processes: TrackedProcess[] = [];
  const track = async (p: TrackedProcess, metrics?: string): Promise<void> => {
    if (metrics) p.metrics = metrics;
    processes.push(p);
    await opts.onStarted(p);
  };
  const pki = switchPki(join(opts.logDir, 'pki'));
  const sw = opts.switchKind === 'bmv2' ? startBmv2(opts, pki) : await startSoftswitch(opts, pki);
  await track(sw.process, sw.metrics);
  await waitListening(sw.p4runtime, sw.process);

  // The switch's P4Runtime inside every node namespace, where the controller pods run.
  let socket: string;
  if (sw.p4runtime.startsWith('unix:')) socket = sw.p4runtime.slice('unix:'.length);
  else {
    socket = join(opts.logDir, 'switch-p4runtime.sock');
    await track(spawnTracked('switch-relay', ['socat', `UNIX-LISTEN:${socket},fork,unlink-early,mode=600`, `TCP:${sw.p4runtime}`], join(opts.logDir, 'switch-relay.log')));
  }
  // Traces to the OTLP endpoint the testbed was given (a collector on the root
  // namespace's loopback), through a relay to the same port in every node namespace.
  const otlp = process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? new URL(process.env.OTEL_EXPORTER_OTLP_ENDPOINT) : undefined;
  const otlpSocket = join(opts.logDir, 'otlp.sock');
  if (otlp) await track(spawnTracked('otlp-relay', ['socat', `UNIX-LISTEN:${otlpSocket},fork,unlink-early,mode=600`, `TCP:${otlp.hostname}:${otlp.port}`], join(opts.logDir, 'otlp-relay.log')));
  const controllerMetrics = new Map<string, string>();
  const agentMetrics = new Map<string, string>();
  for (const n of opts.nodes) {
    const [host, port] = NODE_SWITCH_ADDRESS.split(':');
    await track(spawnTracked(`switch-relay-${n.name}`, inNodeNetns(n.netns, ['socat', `TCP-LISTEN:${port},bind=${host},reuseaddr,fork`, `UNIX-CONNECT:${socket}`]), join(opts.logDir, `switch-relay-${n.name}.log`)));
    if (otlp) await track(spawnTracked(`otlp-relay-${n.name}`, inNodeNetns(n.netns, ['socat', `TCP-LISTEN:${otlp.port},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:${otlpSocket}`]), join(opts.logDir, `otlp-relay-${n.name}.log`)));
    // Metrics live on the node namespace's loopback, as on a node; relays make them scrapeable from the root namespace.
    for (const [target, map, name] of [[AGENT_METRICS, agentMetrics, 'metrics-relay'], [CONTROLLER_METRICS, controllerMetrics, 'controller-metrics-relay']] as const) {
      const rootPort = await freePort();
      for (const relay of startNodePortRelay({ name: `${name}-${n.name}`, netns: n.netns, target, rootPort, dir: opts.logDir })) await track(relay);
      map.set(n.name, `127.0.0.1:${rootPort}`);
    }
  }

  // The controllers' certificate, as the operator (or cert-manager) gives it to the chart.
  await opts.api.apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: CONTROLLER_SECRET, namespace: CHART_NAMESPACE },
    type: 'Opaque',
    data: Object.fromEntries(([['ca.crt', pki.caFile], ['tls.crt', pki.controller.certFile], ['tls.key', pki.controller.keyFile]] as const).map(([k, f]) => [k, readFileSync(f).toString('base64')])),
  });
  if (sw.deviceConfig) {
    await opts.api.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'talaria-device-config', namespace: CHART_NAMESPACE },
      binaryData: { 'device-config': readFileSync(sw.deviceConfig).toString('base64') },
    });
  }
  const values = join(opts.logDir, 'talaria-values.yaml');
  await writeFile(values, stringify(chartValues({ nodes: opts.nodes, switchPorts: opts.switchPorts, deviceConfig: !!sw.deviceConfig, otlpEndpoint: otlp ? `http://127.0.0.1:${otlp.port}` : undefined })));
  await run(['helm', 'install', CHART_RELEASE, join(repoRoot(), 'charts', 'talaria'), '--namespace', CHART_NAMESPACE, '--kubeconfig', opts.controlPlane.adminKubeconfig, '--values', values]);

  const pinDirs = [...(sw.pinDir ? [sw.pinDir] : []), ...opts.nodes.map((n) => pinDir(n.name))];
  return { processes, p4runtime: sw.p4runtime, readerTls: pki.reader, pinDirs, controllerMetrics, agentMetrics };
}

/**
 * The name the testbed gives a process of a chart pod (the e2e suite and the
 * benchmark look processes up by it): controller-<i>, the lowest index no
 * running controller pod has, nodeagent-<node>; undefined for pods that are
 * not Talaria's. `controllers` maps the running controller pods to their index.
 */
export function podProcessName(labels: Readonly<Record<string, string>>, pod: string, node: string, controllers: Map<string, number>): string | undefined {
  if (labels['app.kubernetes.io/name'] !== 'talaria') return undefined;
  if (labels[COMPONENT_LABEL] === 'node-agent') return `nodeagent-${node}`;
  if (labels[COMPONENT_LABEL] !== 'controller') return undefined;
  if (!controllers.has(pod)) {
    const taken = new Set(controllers.values());
    let i = 0;
    while (taken.has(i)) i++;
    controllers.set(pod, i);
  }
  return `controller-${controllers.get(pod)!}`;
}

interface StartedSwitch {
  process: TrackedProcess;
  /** Its P4Runtime address: host:port, or unix:PATH. */
  p4runtime: string;
  metrics?: string;
  /** BMv2: the JSON the controllers send as device config. */
  deviceConfig?: string;
  pinDir?: string;
}

/** Talaria's software switch: the eBPF pipeline on the switch namespace's ports. */
async function startSoftswitch(opts: { switchPorts: readonly string[]; logDir: string }, pki: SwitchPki): Promise<StartedSwitch> {
  const p4runtime = `127.0.0.1:${await freePort()}`;
  const switchPins = switchPinDir();
  const metrics = `127.0.0.1:${await freePort()}`;
  const process = spawnTracked(
    'softswitch',
    imageTalariaArgv([
      'softswitch',
      '--ports', opts.switchPorts.join(','),
      '--grpc-addr', p4runtime,
      '--tls-cert-file', pki.server.certFile,
      '--tls-private-key-file', pki.server.keyFile,
      '--client-ca-file', pki.caFile,
      '--writer-identity', CONTROLLER_CERT_NAME,
      '--device-id', '1',
      '--netns', switchNetns(),
      '--pin-dir', switchPins,
      '--metrics-bind-address', metrics,
    ]),
    join(opts.logDir, 'softswitch.log'),
  );
  return { process, p4runtime, metrics, pinDir: switchPins };
}

/**
 * talaria.p4 on BMv2: compiled here by p4c, the switch started without a
 * program on the same ports (port n = the n-th switch port, as the software
 * switch numbers them); the controllers install it with the JSON as device
 * config. P4Runtime is a unix socket: BMv2 runs inside the switch namespace.
 */
function startBmv2(opts: { switchPorts: readonly string[]; logDir: string }, pki: SwitchPki): StartedSwitch {
  const tools = findP4Tools();
  if (typeof tools === 'string') throw new Error(`--switch bmv2: ${tools}`);
  const program = join(opts.logDir, 'p4');
  compileForBmv2(tools, program);
  const socket = join(opts.logDir, 'bmv2-p4runtime.sock');
  const ports = Object.fromEntries(opts.switchPorts.map((iface, i) => [i + 1, iface]));
  const process = spawnTracked('bmv2', bmv2Argv({ tools, netns: switchNetns(), ports, socket, tls: { caFile: pki.caFile, ...pki.server } }), join(opts.logDir, 'bmv2.log'), tools.env);
  return { process, p4runtime: `unix:${socket}`, deviceConfig: join(program, 'talaria.json') };
}
