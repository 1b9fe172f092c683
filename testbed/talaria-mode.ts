// Talaria mode: the software switch on tb-switch's ports, two controllers
// (the chart's default: two replicas, leader election on) and one node agent
// per node, inside the node's namespace as the chart's hostNetwork DaemonSet
// runs it. They are separate `talaria` processes, started and tracked by the
// daemon, and each runs with exactly the permissions the chart grants: the
// chart's RBAC and ServiceAccounts are rendered with helm and applied, and
// each process gets a bound token of its ServiceAccount.
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { talariaArgv } from '../cli/self.js';
import { repoRoot } from '../bpf/testing/paths.js';
import type { ApiClient, KubeObject } from './client.js';
import type { ControlPlane } from './controlplane/control-plane.js';
import { run } from './network/exec.js';
import { UPLINK, externalAddressing, netnsPrefix, switchNetns } from './network/addressing.js';
import type { NodeAddressing } from './network/addressing.js';
import { NODE_API_SERVER, inNodeNetns, startNodePortRelay } from './node-processes.js';
import { freePort, spawnTracked, waitListening } from './processes.js';
import type { TrackedProcess } from './state.js';

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
  const out = await run(talariaArgv(['--help']), { allowFailure: true });
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
  const grpcPort = await freePort();
  const p4runtime = `127.0.0.1:${grpcPort}`;
  const switchPins = pinDir('switch');
  const swMetrics = await freePort();
  await track(
    spawnTracked(
      'softswitch',
      talariaArgv([
        'softswitch',
        '--ports', opts.switchPorts.join(','),
        '--grpc-addr', p4runtime,
        '--device-id', '1',
        '--netns', switchNetns(),
        '--pin-dir', switchPins,
        '--metrics-bind-address', `127.0.0.1:${swMetrics}`,
      ]),
      join(opts.logDir, 'softswitch.log'),
    ),
    `127.0.0.1:${swMetrics}`,
  );
  // The controllers connect once; start them when the switch serves P4Runtime.
  await waitListening(p4runtime, processes[0]!);

  const ext = externalAddressing();
  const extPort = opts.switchPorts.indexOf(ext.switchPort) + 1;
  for (let i = 0; i < CONTROLLER_REPLICAS; i++) {
    const ctlHealth = await freePort();
    const ctlMetrics = await freePort();
    const name = `controller-${i}`;
    await track(
      spawnTracked(
        name,
        talariaArgv([
          'controller',
          '--kubeconfig', credentials.controller,
          '--switch', p4runtime,
          '--device-id', '1',
          '--external-route', `${ext.ip}/32=${extPort},${ext.mac}`,
          '--healthz-bind-address', `127.0.0.1:${ctlHealth}`,
          '--metrics-bind-address', `127.0.0.1:${ctlMetrics}`,
        ]),
        join(opts.logDir, `${name}.log`),
      ),
      `127.0.0.1:${ctlMetrics}`,
    );
    healthz.push({ name, netns: '', url: `http://127.0.0.1:${ctlHealth}/healthz` });
  }

  const pinDirs = [switchPins];
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
          talariaArgv([
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
