#!/usr/bin/env node
// The one entry point: `talaria <subcommand>`. Each subcommand lives beside
// the code it drives (controller/command.ts, testbed/command.ts, ...) and is
// listed here with one line. Only the subcommand being run is imported: the
// testbed and the end-to-end suite start many short-lived talaria processes
// (probes inside pods, `testbed status`), and loading the gRPC, Kubernetes and
// libbpf modules of every other subcommand would dominate their run time.
import type { Command } from 'commander';
import { Command as Program } from 'commander';
import { exitWithError } from './errors.js';

// Subcommands, one line each (keep alphabetical). The production ones are
// imported by name; the development ones (benchmark, end-to-end suite,
// testbed) by a path held in a variable, so that the compiler does not follow
// them into the runtime build (tsconfig.runtime.json), which leaves them out.
const SUBCOMMANDS: Record<string, () => Promise<Command>> = {
  bench: async () => (await development('../bench/command.js')).benchCommand!,
  controller: async () => (await import('../controller/command.js')).controllerCommand,
  e2e: async () => (await development('../e2e/command.js')).e2eCommand!,
  node: async () => (await import('./node-connections.js')).nodeCommand,
  nodeagent: async () => (await import('../nodeagent/command.js')).nodeagentCommand,
  service: async () => (await import('./service-list.js')).serviceCommand,
  softswitch: async () => (await import('../p4/softswitch/command.js')).softswitchCommand,
  status: async () => (await import('./status.js')).statusCommand,
  switch: async () => (await import('../p4/command.js')).switchCommand,
  testbed: async () => (await development('../testbed/command.js')).testbedCommand!,
  version: async () => (await import('./version.js')).versionCommand,
};

/** A development subcommand's module; undefined in the runtime build, which does not ship it. */
async function development(path: string): Promise<Record<string, Command | undefined>> {
  try {
    return (await import(path)) as Record<string, Command | undefined>;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && (e as Error).message.includes(path.replace(/^\.\.\//, ''))) return {};
    throw e;
  }
}

async function main(argv: string[]): Promise<void> {
  const program = new Program('talaria')
    .description('Talaria: kube-proxy replacement with service load balancing in the switch and an eBPF fast path on the nodes')
    .showHelpAfterError()
    .enablePositionalOptions();
  const wanted = argv[2];
  const names = wanted && wanted in SUBCOMMANDS ? [wanted] : Object.keys(SUBCOMMANDS);
  for (const name of names) {
    const command = await SUBCOMMANDS[name]();
    if (command) program.addCommand(command);
  }
  // A configuration file stands for flags (cli/configuration.ts); loaded only when given.
  const configurable = wanted === 'controller' || wanted === 'nodeagent';
  if (configurable && argv.some((a) => a === '--config' || a.startsWith('--config='))) argv = (await import('./configuration.js')).withConfig(argv, wanted);
  await program.parseAsync(argv);
}

main(process.argv).catch(exitWithError);
