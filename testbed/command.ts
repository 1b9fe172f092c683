// `talaria testbed up|apply|scale|delete|exec|status|down`: a whole
// Kubernetes-shaped cluster in network namespaces on this machine. `up`
// starts a detached supervisor (`talaria testbed daemon`) that owns the
// testbed until `down` stops it; the other commands talk to its API server
// or enter its namespaces.
import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseAllDocuments } from 'yaml';
import { UserError } from '../cli/errors.js';
import { talariaArgv } from '../cli/self.js';
import { ApiClient, ApiRequestError, objectPath } from './client.js';
import type { KubeObject } from './client.js';
import { removePins, runDaemon } from './daemon.js';
import { removeMountPoints } from './kubelet/volumes.js';
import { validateContainers } from './images/images.js';
import type { ContainerSpec } from './images/images.js';
import { MAX_NODES, MODES, externalNetns, netnsPrefix, podNetns, switchNetns } from './network/addressing.js';
import type { Mode } from './network/addressing.js';
import { listNetns } from './network/exec.js';
import { destroyTopology } from './network/topology.js';
import { faultCommand } from './fault-command.js';
import { isAlive, spawnTracked, stopTracked } from './processes.js';
import { SWITCH_KINDS, readState, removeStateDir, stateDir } from './state.js';
import type { SwitchKind, TestbedState } from './state.js';
import { findP4Tools } from '../p4/bmv2/toolchain.js';
import { buildSummary, formatSummary } from './summary.js';
import type { TestbedSummary } from './summary.js';
import { missingSubcommands } from './talaria-mode.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function intOption(name: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

// ---- up / down --------------------------------------------------------------

interface UpOptions {
  nodes: number;
  podsPerNode: number;
  services: number;
  mode: Mode;
  switch: SwitchKind;
  json?: boolean;
  timeout?: number;
}

async function existingTestbed(): Promise<string | undefined> {
  const s = await readState();
  if (s) return `a testbed already exists (mode ${s.mode}, ${s.nodes} nodes, ${s.phase}${s.daemon && !isAlive(s.daemon.pid) ? ', its daemon is gone' : ''})`;
  const ns = await listNetns(netnsPrefix());
  if (ns.length > 0) return `namespaces of an earlier testbed are left over (${ns.slice(0, 3).join(', ')}${ns.length > 3 ? ', ...' : ''})`;
  return undefined;
}

async function tail(file: string, lines = 15): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Seconds `up` may take: 10 minutes, plus time for big rule sets on a small machine. */
function defaultTimeout(services: number): number {
  return 600 + Math.ceil(services / 10);
}

async function up(o: UpOptions): Promise<void> {
  const startedAtMs = Date.now();
  const existing = await existingTestbed();
  if (existing) throw new UserError(`${existing}: run "talaria testbed down" first`);
  if (o.switch !== 'ebpf' && o.mode !== 'talaria') throw new UserError(`--switch ${o.switch}: only talaria mode has a switch that runs talaria.p4 (the kube-proxy modes use a plain bridge)`);
  if (o.switch === 'bmv2') {
    const tools = findP4Tools();
    if (typeof tools === 'string') throw new UserError(`--switch bmv2: ${tools} (nothing was created)`);
  }
  if (o.mode === 'talaria') {
    const missing = await missingSubcommands();
    if (missing.length > 0) {
      throw new UserError(
        `--mode talaria needs the subcommands ${missing.map((m) => `"talaria ${m}"`).join(', ')}, which this build of talaria does not have yet; ` +
          'use --mode iptables or --mode nftables (nothing was created)',
      );
    }
  }
  await mkdir(stateDir(), { recursive: true });
  const log = join(stateDir(), 'daemon.log');
  const daemon = spawnTracked(
    'daemon',
    talariaArgv(['testbed', 'daemon', '--mode', o.mode, '--switch', o.switch, '--nodes', String(o.nodes), '--pods-per-node', String(o.podsPerNode), '--services', String(o.services), '--started-at', String(startedAtMs), '--timeout', String(o.timeout ?? defaultTimeout(o.services))]),
    log,
  );
  let interrupted = false;
  const onInterrupt = (): void => {
    interrupted = true;
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  try {
    let state: TestbedState | undefined;
    for (;;) {
      if (interrupted) throw new UserError('interrupted: the testbed was removed again');
      state = await readState().catch(() => undefined);
      if (state?.phase === 'ready') break;
      if (state?.phase === 'failed') throw new UserError(`testbed up failed: ${state.error ?? 'unknown error'} (the testbed was removed again; log: ${log})`);
      if (!isAlive(daemon.pid)) throw new UserError(`testbed up failed: the daemon exited (the testbed was removed again). Its log ${log} ends with:\n${await tail(log)}`);
      await sleep(100);
    }
    const summary = await currentSummary(state);
    process.stdout.write(o.json ? JSON.stringify(summary, null, 2) + '\n' : formatSummary(summary));
  } catch (err) {
    // A failed `up` never leaves a half-built testbed behind.
    await down({ quiet: true });
    throw err;
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}

/** Removes everything the testbed made; also after a crash; twice is fine. */
export async function down(opts: { quiet?: boolean } = {}): Promise<string[]> {
  const s = await readState().catch(() => undefined);
  const done: string[] = [];
  if (s?.daemon && isAlive(s.daemon.pid)) {
    // The daemon takes down what it built (containers, talaria processes, namespaces).
    process.kill(s.daemon.pid, 'SIGTERM');
    const deadline = Date.now() + 60_000;
    while (isAlive(s.daemon.pid) && Date.now() < deadline) await sleep(100);
    await stopTracked([s.daemon], 0);
    done.push(`daemon (pid ${s.daemon.pid})`);
  }
  // Whatever is left after a crash: processes, namespaces by prefix, pins.
  if (s) await stopTracked(s.processes, 2000);
  const ns = await destroyTopology(s?.prefix ?? netnsPrefix());
  if (ns.length > 0) done.push(`${ns.length} namespaces`);
  await removePins(s?.pinDirs ?? []);
  removeMountPoints(s?.mountPoints ?? []);
  await removeStateDir();
  if (!opts.quiet) process.stdout.write(done.length > 0 ? `removed ${done.join(', ')}\n` : 'no testbed was running\n');
  return done;
}

// ---- status -------------------------------------------------------------------

async function requireState(): Promise<TestbedState> {
  const s = await readState();
  if (!s) throw new UserError('no testbed is running: start one with "talaria testbed up"');
  if (s.daemon && !isAlive(s.daemon.pid)) throw new UserError(`the testbed's daemon (pid ${s.daemon.pid}) is gone (see ${s.log}): run "talaria testbed down"`);
  return s;
}

async function client(): Promise<ApiClient> {
  const s = await requireState();
  if (!s.kubeconfig) throw new UserError(`the testbed is ${s.phase} and has no API server yet`);
  return ApiClient.fromKubeconfig(s.kubeconfig);
}

async function currentSummary(s: TestbedState): Promise<TestbedSummary> {
  if (!s.kubeconfig) return buildSummary(s, { nodes: [], pods: [], services: [] });
  const c = await ApiClient.fromKubeconfig(s.kubeconfig);
  try {
    const [nodes, pods, services] = await Promise.all([c.list('/api/v1/nodes'), c.list('/api/v1/pods'), c.list('/api/v1/services')]);
    return buildSummary(s, { nodes, pods, services });
  } finally {
    c.close();
  }
}

// ---- apply ----------------------------------------------------------------------

function documentsOf(text: string, file: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new UserError(`${file}: ${doc.errors[0]!.message}`);
    const v = doc.toJS() as KubeObject | null;
    if (v === null || v === undefined) continue;
    if (typeof v !== 'object') throw new UserError(`${file}: a document is not an object`);
    if (v.kind === 'List' || (typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items))) out.push(...(v.items as KubeObject[]));
    else out.push(v);
  }
  return out;
}

function imageProblems(o: KubeObject): string[] {
  const name = `${o.kind}/${o.metadata?.name ?? '?'}`;
  if (o.kind === 'Pod') return validateContainers(o.spec?.containers as ContainerSpec[], 'spec.containers').map((e) => `${name}: ${e}`);
  if (o.kind === 'Deployment') return validateContainers(o.spec?.template?.spec?.containers as ContainerSpec[], 'spec.template.spec.containers').map((e) => `${name}: ${e}`);
  return [];
}

async function applyOne(c: ApiClient, o: KubeObject): Promise<string> {
  const t = await c.resourceOf(o);
  const group = t.prefix.startsWith('/apis/') ? `.${t.prefix.split('/')[2]}` : '';
  const label = `${t.singularName}${group}/${o.metadata.name}`;
  try {
    return `${label} ${(await c.apply(o)).created ? 'created' : 'configured'}`;
  } catch (err) {
    throw new UserError(`${label}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function apply(file: string): Promise<void> {
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new UserError(`cannot read ${file}: ${e.code ?? e.message}`);
  });
  const docs = documentsOf(text, file);
  for (const d of docs) {
    if (!d.metadata?.name) throw new UserError(`${file}: a ${d.kind ?? 'document'} has no metadata.name`);
  }
  const problems = docs.flatMap(imageProblems);
  if (problems.length > 0) throw new UserError(`nothing applied:\n${problems.join('\n')}`);
  const c = await client();
  for (const d of docs) await c.resourceOf(d);
  // In order (a Deployment may come after the Service that selects it), a few at a time.
  const results: string[] = new Array<string>(docs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < docs.length) {
      const i = next++;
      results[i] = await applyOne(c, docs[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, docs.length) }, worker)).finally(() => c.close());
  process.stdout.write(results.join('\n') + (results.length ? '\n' : ''));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

// ---- scale / delete / exec ---------------------------------------------------------

async function scale(name: string, o: { replicas: number; namespace: string }): Promise<void> {
  const c = await client();
  await c.request('PATCH', objectPath(await c.resolveKind('deployment'), o.namespace, name), { spec: { replicas: o.replicas } }, 'application/merge-patch+json');
  c.close();
  process.stdout.write(`deployment.apps/${name} scaled\n`);
}

async function del(kind: string, name: string, o: { namespace: string; wait: boolean }): Promise<void> {
  const c = await client();
  const t = await c.resolveKind(kind);
  const path = objectPath(t, o.namespace, name);
  await c.request('DELETE', path);
  if (o.wait && t.name === 'pods') {
    // Like kubectl: wait until the kubelet has finished the pod.
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        await c.request('GET', path);
      } catch (err) {
        if (err instanceof ApiRequestError && err.status === 404) break;
        throw err;
      }
      if (Date.now() > deadline) throw new UserError(`${t.singularName} "${name}" is still terminating after 120 s`);
      await sleep(100);
    }
  }
  c.close();
  process.stdout.write(`${t.singularName} "${name}" deleted\n`);
}

async function targetNetns(target: string, namespace: string): Promise<string> {
  await requireState();
  let ns: string;
  if (target === 'external') ns = externalNetns();
  else if (target === 'switch') ns = switchNetns();
  else if (target.startsWith('node/')) ns = `${netnsPrefix()}${target.slice('node/'.length)}`;
  else if (target.includes('/')) {
    const [podNs, pod] = target.split('/', 2) as [string, string];
    ns = podNetns(podNs === 'pod' ? namespace : podNs, pod);
  } else ns = podNetns(namespace, target);
  if (!(await listNetns(ns)).includes(ns)) throw new UserError(`no such target "${target}" (namespace ${ns} does not exist): give a pod name, node/NAME, external or switch`);
  return ns;
}

async function exec(target: string, argv: string[], o: { namespace: string }): Promise<void> {
  const cmd = argv[0] === '--' ? argv.slice(1) : argv;
  if (cmd.length === 0) throw new UserError('exec: give a command after "--", e.g. talaria testbed exec external -- curl -s 198.18.1.2:30080');
  const ns = await targetNetns(target, o.namespace);
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
  });
  process.exitCode = code;
}

// ---- the command ------------------------------------------------------------------

export const testbedCommand = new Command('testbed')
  .description('A Kubernetes-shaped cluster in network namespaces on this machine: API server, nodes, pods, switch, kube-proxy baselines')
  .enablePositionalOptions();

testbedCommand
  .command('up')
  .description('Build the testbed: switch, nodes, external client, API server, the echo workload, and the data path of the mode')
  .option('--nodes <n>', 'number of nodes', intOption('--nodes', 1, MAX_NODES), 3)
  .option('--pods-per-node <n>', 'echo pods per node', intOption('--pods-per-node', 0, 250), 2)
  .option('--services <n>', 'extra ClusterIP Services over the echo pods (scale runs)', intOption('--services', 0, 60_000), 0)
  .addOption(new Option('--mode <mode>', 'data path').choices(MODES as string[]).default('talaria'))
  .addOption(new Option('--switch <kind>', 'talaria mode: the eBPF software switch, or talaria.p4 on BMv2 (needs the P4 toolchain: TALARIA_P4TOOLS)').choices([...SWITCH_KINDS]).default('ebpf'))
  .option('--json', 'print the summary as JSON (a stable contract)')
  .option('--timeout <seconds>', 'give up (and clean up) when not ready after this long (default: 600 + services/10)', intOption('--timeout', 1, 86_400))
  .action((o: UpOptions) => up(o));

testbedCommand
  .command('daemon', { hidden: true })
  .description('(internal) the supervisor process `up` starts')
  .addOption(new Option('--mode <mode>').choices(MODES as string[]).makeOptionMandatory())
  .addOption(new Option('--switch <kind>').choices([...SWITCH_KINDS]).default('ebpf'))
  .requiredOption('--nodes <n>', 'nodes', intOption('--nodes', 1, MAX_NODES))
  .requiredOption('--pods-per-node <n>', 'pods per node', intOption('--pods-per-node', 0, 250))
  .option('--services <n>', 'extra services', intOption('--services', 0, 60_000), 0)
  .option('--started-at <ms>', 'when up started', (v) => Number(v), Date.now())
  .option('--timeout <seconds>', 'readiness timeout', (v) => Number(v), 600)
  .action((o: { mode: Mode; switch: SwitchKind; nodes: number; podsPerNode: number; services: number; startedAt: number; timeout: number }) =>
    runDaemon({ mode: o.mode, switchKind: o.switch, nodes: o.nodes, podsPerNode: o.podsPerNode, services: o.services, startedAtMs: o.startedAt, readyTimeoutMs: o.timeout * 1000 }),
  );

testbedCommand
  .command('apply')
  .description('Create or update objects from a YAML or JSON file (several documents): Services, Pods, Deployments')
  .requiredOption('-f, --filename <file>', 'file to apply ("-" for stdin)')
  .action((o: { filename: string }) => apply(o.filename));

testbedCommand
  .command('scale <deployment>')
  .description('Set the replicas of a Deployment')
  .requiredOption('--replicas <n>', 'replicas', intOption('--replicas', 0, 10_000))
  .option('-n, --namespace <ns>', 'namespace', 'default')
  .action((name: string, o: { replicas: number; namespace: string }) => scale(name, o));

testbedCommand
  .command('delete <kind> <name>')
  .description('Delete an object (pods terminate gracefully; waits until they are gone)')
  .option('-n, --namespace <ns>', 'namespace', 'default')
  .option('--no-wait', 'do not wait for a pod to be gone')
  .action((kind: string, name: string, o: { namespace: string; wait: boolean }) => del(kind, name, o));

testbedCommand
  .command('exec <target>')
  .description('Run a command in a pod\'s network namespace (or node/NAME, external, switch): exec POD -- CMD...')
  .option('-n, --namespace <ns>', 'namespace of the pod', 'default')
  .argument('[cmd...]', 'the command, after --')
  .passThroughOptions()
  .action((target: string, cmd: string[], o: { namespace: string }) => exec(target, cmd, o));

testbedCommand
  .command('status')
  .description('Show the running testbed')
  .option('--json', 'print the summary as JSON (a stable contract)')
  .action(async (o: { json?: boolean }) => {
    const s = await requireState();
    const summary = await currentSummary(s);
    process.stdout.write(o.json ? JSON.stringify(summary, null, 2) + '\n' : formatSummary(summary));
  });

testbedCommand.addCommand(faultCommand);

testbedCommand
  .command('down')
  .description('Remove everything the testbed made (also after a crash; running it twice is fine)')
  .action(async () => {
    await down();
  });
