// TalariaConfiguration: the settings of `talaria controller` and `talaria
// nodeagent` as one versioned file (`--config FILE`, YAML or JSON), as
// kube-proxy has KubeProxyConfiguration. The file is a second spelling of the
// flags, not a second definition: every field names the flag it stands for,
// the file becomes those flags (so the flags' own parsers check the values),
// and a flag given on the command line wins over the file. Errors name the
// field: `TalariaConfiguration controller.switch.deviceId: ...`.
//
//   apiVersion: talaria.io/v1alpha1
//   kind: TalariaConfiguration
//   clientConnection: {kubeconfig: /etc/talaria/kubeconfig}
//   serviceProxyName: ""
//   controller: {switch: {address: 10.0.0.1:9559, deviceId: 1, tls: {caFile: ...}}, syncPeriod: 60s, ...}
//   nodeAgent: {uplink: eth0, clusterCIDR: 10.244.0.0/16, conntrack: {tcpEstablishedTimeout: 24h}, ...}
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { UserError } from './errors.js';
import { durationMs } from './duration.js';
import { bindAddress } from '../observability/proxy-server.js';
import { parseCidr } from '../proxy/ip.js';
import { parseExternalRoute, parseNodeSwitchPort, parsePortMac } from '../controller/desired/nodes.js';

export const CONFIG_API_VERSION = 'talaria.io/v1alpha1';
export const CONFIG_KIND = 'TalariaConfiguration';
export type Component = 'controller' | 'nodeagent';

type Value = string | number | boolean | object;
type Check = (v: Value) => string | undefined;

/** A field of the file: the flag it stands for, in which components, and how its value is checked and written. */
interface Field {
  path: string;
  flag: string;
  components: readonly Component[];
  check: Check;
  /** The flag arguments for the value (default: `--flag=value`). */
  argv?: (v: Value) => string[];
}

const isString: Check = (v) => (typeof v === 'string' ? undefined : 'must be a string');
const isDuration: Check = (v) => {
  if (typeof v !== 'string') return 'must be a duration such as 500ms, 15s, 10m, 24h';
  try {
    durationMs('', v);
    return undefined;
  } catch {
    return `${JSON.stringify(v)} is not a duration such as 500ms, 15s, 10m, 24h`;
  }
};
const isPositiveInt: Check = (v) => (Number.isInteger(v) && (v as number) > 0 ? undefined : `must be a positive integer, got ${JSON.stringify(v)}`);
const isBool: Check = (v) => (typeof v === 'boolean' ? undefined : `must be true or false, got ${JSON.stringify(v)}`);
const isAddress: Check = (v) => {
  if (typeof v !== 'string') return 'must be a string HOST:PORT';
  try {
    bindAddress('bind', v, 0);
    return undefined;
  } catch {
    return `${JSON.stringify(v)} is not HOST:PORT`;
  }
};
const isCidr: Check = (v) => (typeof v === 'string' && parseCidr(v) ? undefined : `${JSON.stringify(v)} is not a CIDR`);
const isCidrList: Check = (v) => {
  if (!Array.isArray(v)) return 'must be a list of CIDRs';
  for (const [i, c] of (v as Value[]).entries()) {
    const problem = isCidr(c);
    if (problem) return `[${i}]: ${problem}`;
  }
  return undefined;
};
/** A list whose items become repeated flags, each checked by the flag's own parser. */
const listOf = (text: (item: Record<string, unknown>) => string, parser: (t: string) => unknown): Check => (v) => {
  if (!Array.isArray(v)) return 'must be a list';
  for (const [i, item] of (v as Record<string, unknown>[]).entries()) {
    try {
      parser(text(item));
    } catch (e) {
      return `[${i}]: ${(e as Error).message.replace(/^--[a-z-]+ /, '')}`;
    }
  }
  return undefined;
};
const routeText = (r: Record<string, unknown>): string => `${String(r.cidr)}=${String(r.port)},${String(r.mac)}`;
const portMacText = (p: Record<string, unknown>): string => `${String(p.port)}=${String(p.mac)}`;
const isNodePorts: Check = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'must be a map of node name to switch port';
  for (const [node, port] of Object.entries(v)) {
    try {
      parseNodeSwitchPort(`${node}=${String(port)}`);
    } catch (e) {
      return `${node}: ${(e as Error).message.replace(/^--[a-z-]+ /, '')}`;
    }
  }
  return undefined;
};

const BOTH: readonly Component[] = ['controller', 'nodeagent'];
const CONTROLLER: readonly Component[] = ['controller'];
const AGENT: readonly Component[] = ['nodeagent'];

export const FIELDS: readonly Field[] = [
  { path: 'clientConnection.kubeconfig', flag: '--kubeconfig', components: BOTH, check: isString },
  { path: 'serviceProxyName', flag: '--service-proxy-name', components: BOTH, check: isString },
  { path: 'nodePortAddresses', flag: '--nodeport-addresses', components: BOTH, check: isCidrList, argv: (v) => ((v as string[]).length ? [`--nodeport-addresses=${(v as string[]).join(',')}`] : []) },
  { path: 'controller.healthzBindAddress', flag: '--healthz-bind-address', components: CONTROLLER, check: isAddress },
  { path: 'controller.metricsBindAddress', flag: '--metrics-bind-address', components: CONTROLLER, check: isAddress },
  { path: 'controller.minSyncPeriod', flag: '--min-sync-period', components: CONTROLLER, check: isDuration },
  { path: 'controller.syncPeriod', flag: '--sync-period', components: CONTROLLER, check: isDuration },
  { path: 'controller.switch.address', flag: '--switch', components: CONTROLLER, check: isString },
  { path: 'controller.switch.deviceId', flag: '--device-id', components: CONTROLLER, check: isPositiveInt },
  { path: 'controller.switch.electionId', flag: '--election-id', components: CONTROLLER, check: isPositiveInt },
  { path: 'controller.switch.deviceConfig', flag: '--device-config', components: CONTROLLER, check: isString },
  { path: 'controller.switch.tls.caFile', flag: '--switch-ca-file', components: CONTROLLER, check: isString },
  { path: 'controller.switch.tls.certFile', flag: '--switch-cert-file', components: CONTROLLER, check: isString },
  { path: 'controller.switch.tls.keyFile', flag: '--switch-key-file', components: CONTROLLER, check: isString },
  { path: 'controller.switch.tls.serverName', flag: '--switch-server-name', components: CONTROLLER, check: isString },
  { path: 'controller.switch.insecurePlaintext', flag: '--switch-insecure-plaintext', components: CONTROLLER, check: isBool, argv: (v) => (v ? ['--switch-insecure-plaintext'] : []) },
  { path: 'controller.leaderElection.leaderElect', flag: '--no-leader-elect', components: CONTROLLER, check: isBool, argv: (v) => (v ? [] : ['--no-leader-elect']) },
  { path: 'controller.leaderElection.leaseNamespace', flag: '--leader-elect-lease-namespace', components: CONTROLLER, check: isString },
  { path: 'controller.leaderElection.leaseName', flag: '--leader-elect-lease-name', components: CONTROLLER, check: isString },
  { path: 'controller.leaderElection.leaseDuration', flag: '--leader-elect-lease-duration', components: CONTROLLER, check: isDuration },
  { path: 'controller.externalRoutes', flag: '--external-route', components: CONTROLLER, check: listOf(routeText, parseExternalRoute), argv: (v) => (v as Record<string, unknown>[]).map((r) => `--external-route=${routeText(r)}`) },
  { path: 'controller.portMacs', flag: '--port-mac', components: CONTROLLER, check: listOf(portMacText, parsePortMac), argv: (v) => (v as Record<string, unknown>[]).map((p) => `--port-mac=${portMacText(p)}`) },
  { path: 'controller.nodeSwitchPorts', flag: '--node-switch-port', components: CONTROLLER, check: isNodePorts, argv: (v) => Object.entries(v).map(([n, p]) => `--node-switch-port=${n}=${String(p)}`) },
  { path: 'nodeAgent.healthzBindAddress', flag: '--healthz-bind-address', components: AGENT, check: isAddress },
  { path: 'nodeAgent.metricsBindAddress', flag: '--metrics-bind-address', components: AGENT, check: isAddress },
  { path: 'nodeAgent.uplink', flag: '--uplink', components: AGENT, check: isString },
  { path: 'nodeAgent.gatewayMAC', flag: '--gateway-mac', components: AGENT, check: isString },
  { path: 'nodeAgent.podGatewayInterface', flag: '--pod-gateway-if', components: AGENT, check: isString },
  { path: 'nodeAgent.clusterCIDR', flag: '--cluster-cidr', components: AGENT, check: isCidr },
  { path: 'nodeAgent.pinDir', flag: '--pin-dir', components: AGENT, check: isString },
  { path: 'nodeAgent.maxConnections', flag: '--max-connections', components: AGENT, check: isPositiveInt },
  { path: 'nodeAgent.redirectPeer', flag: '--no-redirect-peer', components: AGENT, check: isBool, argv: (v) => (v ? [] : ['--no-redirect-peer']) },
  { path: 'nodeAgent.conntrack.tcpEstablishedTimeout', flag: '--conntrack-tcp-timeout-established', components: AGENT, check: isDuration },
  { path: 'nodeAgent.conntrack.tcpCloseWaitTimeout', flag: '--conntrack-tcp-timeout-close-wait', components: AGENT, check: isDuration },
  { path: 'nodeAgent.conntrack.udpTimeout', flag: '--conntrack-udp-timeout', components: AGENT, check: isDuration },
];

/** The object paths every field lives under (so that an unknown key is told apart from a section). */
const SECTIONS = new Set(FIELDS.flatMap((f) => f.path.split('.').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('.'))));

function fail(path: string, message: string): never {
  throw new UserError(`${CONFIG_KIND} ${path}: ${message}`);
}

/** Checks a parsed file whole; the first problem is thrown, naming its field. */
export function validate(doc: unknown): Record<string, Value> {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('(document)', 'must be a mapping');
  const d = doc as Record<string, unknown>;
  if (d.apiVersion !== CONFIG_API_VERSION) fail('apiVersion', `must be ${CONFIG_API_VERSION}, got ${JSON.stringify(d.apiVersion)}`);
  if (d.kind !== CONFIG_KIND) fail('kind', `must be ${CONFIG_KIND}, got ${JSON.stringify(d.kind)}`);
  const values: Record<string, Value> = {};
  const walk = (o: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(o)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (!prefix && (k === 'apiVersion' || k === 'kind')) continue;
      if (v === null || v === undefined) continue;
      const field = FIELDS.find((f) => f.path === path);
      if (field) {
        const problem = field.check(v as Value);
        if (problem) fail(path, problem);
        values[path] = v as Value;
      } else if (SECTIONS.has(path)) {
        if (typeof v !== 'object' || Array.isArray(v)) fail(path, 'must be a mapping');
        walk(v as Record<string, unknown>, path);
      } else fail(path, 'unknown field');
    }
  };
  walk(d, '');
  return values;
}

/** The flag arguments a file stands for, for one component. */
export function configArgv(values: Record<string, Value>, component: Component): string[] {
  return FIELDS.filter((f) => f.components.includes(component) && f.path in values).flatMap((f) => (f.argv ? f.argv(values[f.path]!) : [`${f.flag}=${String(values[f.path])}`]));
}

/**
 * `talaria <component> ... --config FILE ...` -> the same argv with the
 * file's flags in front, minus the flags the command line gives itself (the
 * command line wins; for a repeatable flag, its values replace the file's).
 */
export function withConfig(argv: readonly string[], component: Component): string[] {
  const at = argv.findIndex((a) => a === '--config' || a.startsWith('--config='));
  if (at < 0) return [...argv];
  const file = argv[at]!.includes('=') ? argv[at]!.slice('--config='.length) : argv[at + 1];
  if (!file) throw new UserError('--config: expected a file');
  const rest = [...argv.slice(0, at), ...argv.slice(at + (argv[at]!.includes('=') ? 1 : 2))];
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`--config ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const given = new Set(rest.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!));
  const fromFile = configArgv(validate(doc), component).filter((a) => !given.has(a.split('=')[0]!));
  // argv: [node, script, component, ...]: the file's flags go right after the component.
  const i = rest.indexOf(component);
  return [...rest.slice(0, i + 1), ...fromFile, ...rest.slice(i + 1)];
}
