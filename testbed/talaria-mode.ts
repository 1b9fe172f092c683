// Talaria mode: the switch on tb-switch's ports (Talaria's eBPF software
// switch, or with --switch bmv2 talaria.p4 compiled by p4c and run by BMv2's
// simple_switch_grpc, the P4 reference target), two controllers
// (the chart's default: two replicas, leader election on) and one node agent
// per node, inside the node's namespace as the chart's hostNetwork DaemonSet
// runs it. They are separate `talaria` processes, started and tracked by the
// daemon, and each runs with exactly the permissions the chart grants: the
// chart's RBAC and ServiceAccounts are rendered with helm and applied, and
// each process gets a bound token of its ServiceAccount. They run from the
// image's file set (testbed/image.ts), as the chart's pods would.
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { imageTalariaArgv } from './image.js';
import { repoRoot } from '../bpf/testing/paths.js';
import type { ApiClient, KubeObject } from './client.js';
import type { ControlPlane } from './controlplane/control-plane.js';
import { run } from './network/exec.js';
import { UPLINK, externalAddressing, netnsPrefix, switchNetns } from './network/addressing.js';
import type { NodeAddressing } from './network/addressing.js';
import { NODE_API_SERVER, inNodeNetns, startNodePortRelay } from './node-processes.js';
import { freePort } from './free-port.js';
import { spawnTracked, waitListening } from './processes.js';
import type { SwitchKind, TrackedProcess } from './state.js';
import { bmv2Argv } from '../p4/bmv2/bmv2-process.js';
import { compileForBmv2, findP4Tools } from '../p4/bmv2/toolchain.js';

/** The chart's release as the testbed installs its RBAC. */
export const CHART_RELEASE = 'talaria';
export const CHART_NAMESPACE = 'kube-system';
const CONTROLLER_SA = `${CHART_RELEASE}-controller`;
const AGENT_SA = `${CHART_RELEASE}-node-agent`;
const CONTROLLER_REPLICAS = 2;
/** Where an agent serves health and metrics inside its node's namespace (kube-proxy's ports). */
export const AGENT_HEALTHZ = '127.0.0.1:10256';
export const AGENT_METRICS = '127.0.0.1:10249';

/** The chart's RBAC and ServiceAccounts, rendered by helm as `helm install` would. */
export async function chartRbac(): Promise<KubeObject[]> {
  const out = await run([
    'helm', 'template', CHART_RELEASE, join(repoRoot(), 'charts', 'talaria'),
    '--namespace', CHART_NAMESPACE, '--kube-version', '1.37.2',
    '--show-only', 'templates/serviceaccounts.yaml', '--show-only', 'templates/rbac.yaml',
  ]);
  return parseAllDocuments(out.stdout).map((d) => d.toJS() as KubeObject | null).filter((o): o is KubeObject => !!o);
}

/** Applies the chart's RBAC and returns kubeconfigs with bound tokens of its ServiceAccounts. */
async function chartCredentials(cp: ControlPlane, api: ApiClient): Promise<{ controller: string; agent: (server: string) => Promise<string> }> {
  for (const o of await chartRbac()) await api.apply(o);
  const token = async (sa: string): Promise<string> => {
    const tr = await api.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${CHART_NAMESPACE}/serviceaccounts/${sa}/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 7 * 24 * 3600 },
    });
    return tr.status.token;
  };
  const agentToken = await token(AGENT_SA);
  return {
    controller: await cp.serviceAccountKubeconfig(CHART_NAMESPACE, CONTROLLER_SA, await token(CONTROLLER_SA)),
    agent: (server) => cp.serviceAccountKubeconfig(CHART_NAMESPACE, AGENT_SA, agentToken, server),
  };
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

/** Which of the subcommands this build of talaria lacks (from `talaria --help`). */
export async function missingSubcommands(): Promise<string[]> {
  const out = await run(imageTalariaArgv(['--help']), { allowFailure: true });
  return missingIn(out.stdout);
}

/** bpffs directory of a component: the contract's names for the default prefix. */
export function pinDir(component: string): string {
  const p = netnsPrefix();
  return join('/sys/fs/bpf/talaria', p === 'tb-' ? component : `${p}${component}`);
}

export interface TalariaProcesses {
  processes: TrackedProcess[];
  p4runtime: string;
  pinDirs: string[];
  /** healthz addresses to poll until the data path is programmed. */
  healthz: { name: string; netns: string; url: string }[];
}

/** Starts switch, controllers and agents; the caller tracks and stops them. */
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
  const healthz: TalariaProcesses['healthz'] = [];
  const track = async (p: TrackedProcess, metrics?: string): Promise<void> => {
    if (metrics) p.metrics = metrics;
    processes.push(p);
    await opts.onStarted(p);
  };
  const credentials = await chartCredentials(opts.controlPlane, opts.api);
  const sw = opts.switchKind === 'bmv2' ? startBmv2(opts) : await startSoftswitch(opts);
  await track(sw.process, sw.metrics);
  // The controllers connect once; start them when the switch serves P4Runtime.
  await waitListening(sw.p4runtime, sw.process);
  const p4runtime = sw.p4runtime;

  const ext = externalAddressing();
  const extPort = opts.switchPorts.indexOf(ext.switchPort) + 1;
  // Each switch port's own MAC (the one the hosts' neighbour entries name), for the egress_ports table.
  const portMacs = [...opts.nodes.map((n) => `${opts.switchPorts.indexOf(n.switchPort) + 1}=${n.switchPortMac}`), `${extPort}=${ext.switchPortMac}`];
  // The rack's topology, as an operator writes it in the chart's nodeSwitchPorts.
  const nodeSwitchPorts = opts.nodes.map((n) => `${n.name}=${opts.switchPorts.indexOf(n.switchPort) + 1}`);
  for (let i = 0; i < CONTROLLER_REPLICAS; i++) {
    const ctlHealth = await freePort();
    const ctlMetrics = await freePort();
    const name = `controller-${i}`;
    await track(
      spawnTracked(
        name,
        imageTalariaArgv([
          'controller',
          '--kubeconfig', credentials.controller,
          '--switch', p4runtime,
          '--device-id', '1',
          ...(sw.deviceConfig ? ['--device-config', sw.deviceConfig] : []),
          '--external-route', `${ext.ip}/32=${extPort},${ext.mac}`,
          ...portMacs.flatMap((p) => ['--port-mac', p]),
          ...nodeSwitchPorts.flatMap((p) => ['--node-switch-port', p]),
          '--healthz-bind-address', `127.0.0.1:${ctlHealth}`,
          '--metrics-bind-address', `127.0.0.1:${ctlMetrics}`,
        ]),
        join(opts.logDir, `${name}.log`),
      ),
      `127.0.0.1:${ctlMetrics}`,
    );
    healthz.push({ name, netns: '', url: `http://127.0.0.1:${ctlHealth}/healthz` });
  }

  const pinDirs = sw.pinDir ? [sw.pinDir] : [];
  const agentKubeconfig = await credentials.agent(NODE_API_SERVER);
  for (const n of opts.nodes) {
    const pins = pinDir(n.name);
    const metricsPort = await freePort();
    pinDirs.push(pins);
    await track(
      spawnTracked(
        `nodeagent-${n.name}`,
        inNodeNetns(
          n.netns,
          imageTalariaArgv([
            'nodeagent',
            '--node', n.name,
            '--kubeconfig', agentKubeconfig,
            '--uplink', UPLINK,
            '--pin-dir', pins,
            '--healthz-bind-address', AGENT_HEALTHZ,
            '--metrics-bind-address', AGENT_METRICS,
          ]),
        ),
        join(opts.logDir, `nodeagent-${n.name}.log`),
      ),
      `127.0.0.1:${metricsPort}`,
    );
    // The agent's metrics live on the node namespace's loopback, as kube-proxy's do.
    for (const relay of startNodePortRelay({ name: `metrics-relay-${n.name}`, netns: n.netns, target: AGENT_METRICS, rootPort: metricsPort, dir: opts.logDir })) await track(relay);
    healthz.push({ name: `nodeagent-${n.name}`, netns: n.netns, url: `http://${AGENT_HEALTHZ}/healthz` });
  }
  return { processes, p4runtime, pinDirs, healthz };
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
async function startSoftswitch(opts: { switchPorts: readonly string[]; logDir: string }): Promise<StartedSwitch> {
  const p4runtime = `127.0.0.1:${await freePort()}`;
  const switchPins = pinDir('switch');
  const metrics = `127.0.0.1:${await freePort()}`;
  const process = spawnTracked(
    'softswitch',
    imageTalariaArgv([
      'softswitch',
      '--ports', opts.switchPorts.join(','),
      '--grpc-addr', p4runtime,
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
function startBmv2(opts: { switchPorts: readonly string[]; logDir: string }): StartedSwitch {
  const tools = findP4Tools();
  if (typeof tools === 'string') throw new Error(`--switch bmv2: ${tools}`);
  const program = join(opts.logDir, 'p4');
  compileForBmv2(tools, program);
  const socket = join(opts.logDir, 'bmv2-p4runtime.sock');
  const ports = Object.fromEntries(opts.switchPorts.map((iface, i) => [i + 1, iface]));
  const process = spawnTracked('bmv2', bmv2Argv({ tools, netns: switchNetns(), ports, socket }), join(opts.logDir, 'bmv2.log'), tools.env);
  return { process, p4runtime: `unix:${socket}`, deviceConfig: join(program, 'talaria.json') };
}
