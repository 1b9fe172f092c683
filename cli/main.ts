#!/usr/bin/env node
// The one entry point: `talaria <subcommand>`. Each subcommand lives beside
// the code it drives (controller/command.ts, testbed/command.ts, ...) and is
// added here with one line.
import { Command } from 'commander';
import { benchCommand } from '../bench/command.js';
import { e2eCommand } from '../e2e/command.js';
import { exitWithError } from './errors.js';
import { testbedCommand } from '../testbed/command.js';

const program = new Command('talaria')
  .description('Talaria: kube-proxy replacement with service load balancing in the switch and an eBPF fast path on the nodes')
  .showHelpAfterError()
  .enablePositionalOptions();

// Subcommands, one line each (keep alphabetical).
program.addCommand(benchCommand);
program.addCommand((await import('../controller/command.js')).controllerCommand);
program.addCommand(e2eCommand);
program.addCommand((await import('../nodeagent/command.js')).nodeagentCommand);
program.addCommand((await import('../p4/softswitch/command.js')).softswitchCommand);
program.addCommand((await import('../p4/command.js')).switchCommand);
program.addCommand(testbedCommand);

program.parseAsync(process.argv).catch(exitWithError);
