// Talaria mode: the software switch on tb-switch's ports, the controller
// against the testbed API server, one node agent per node. They are separate
// `talaria` processes (as in production), started and tracked by the daemon.
import { join } from 'node:path';
import { talariaArgv } from '../cli/self.js';
import { run } from './network/exec.js';
import { UPLINK, externalAddressing, netnsPrefix, switchNetns } from './network/addressing.js';
import type { NodeAddressing } from './network/addressing.js';
import { freePort, spawnTracked, waitListening } from './processes.js';
import type { TrackedProcess } from './state.js';

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
  healthz: { name: string; url: string }[];
}

/** Starts switch, controller and agents; the caller tracks and stops them. */
export async function startTalaria(opts: {
  nodes: readonly NodeAddressing[];
  switchPorts: readonly string[];
  kubeconfig: string;
  logDir: string;
  onStarted: (p: TrackedProcess) => Promise<void>;
}): Promise<TalariaProcesses> {
  const processes: TrackedProcess[] = [];
  const healthz: { name: string; url: string }[] = [];
  const track = async (p: TrackedProcess): Promise<void> => {
    processes.push(p);
    await opts.onStarted(p);
  };
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
  );
  // The controller connects once; start it when the switch serves P4Runtime.
  await waitListening(p4runtime, processes[0]!);

  const ext = externalAddressing();
  const extPort = opts.switchPorts.indexOf(ext.switchPort) + 1;
  const ctlHealth = await freePort();
  const ctlMetrics = await freePort();
  await track(
    spawnTracked(
      'controller',
      talariaArgv([
        'controller',
        '--kubeconfig', opts.kubeconfig,
        '--switch', p4runtime,
        '--device-id', '1',
        '--external-route', `${ext.ip}/32=${extPort},${ext.mac}`,
        '--healthz-bind-address', `127.0.0.1:${ctlHealth}`,
        '--metrics-bind-address', `127.0.0.1:${ctlMetrics}`,
      ]),
      join(opts.logDir, 'controller.log'),
    ),
  );
  healthz.push({ name: 'controller', url: `http://127.0.0.1:${ctlHealth}/healthz` });

  const pinDirs = [switchPins];
  for (const n of opts.nodes) {
    const h = await freePort();
    const m = await freePort();
    const pins = pinDir(n.name);
    pinDirs.push(pins);
    await track(
      spawnTracked(
        `nodeagent-${n.name}`,
        talariaArgv([
          'nodeagent',
          '--node', n.name,
          '--kubeconfig', opts.kubeconfig,
          '--uplink', UPLINK,
          '--netns', n.netns,
          '--pin-dir', pins,
          '--healthz-bind-address', `127.0.0.1:${h}`,
          '--metrics-bind-address', `127.0.0.1:${m}`,
        ]),
        join(opts.logDir, `nodeagent-${n.name}.log`),
      ),
    );
    healthz.push({ name: `nodeagent-${n.name}`, url: `http://127.0.0.1:${h}/healthz` });
  }
  return { processes, p4runtime, pinDirs, healthz };
}
