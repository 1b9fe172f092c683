// `talaria e2e`: the end-to-end suite on the testbed, in every mode; and the
// probe it runs inside pods' namespaces.
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { findP4Tools } from '../p4/bmv2/toolchain.js';
import { SWITCH_KINDS, type SwitchKind } from '../testbed/state.js';
import { UserError } from '../cli/errors.js';
import type { Mode } from './context.js';
import type { ProbeSpec } from './probe.js';
import { runProbe } from './probe.js';
import { runSuite } from './runner.js';
import { progress } from './context.js';
import { testbedDown } from '../testbed/cli-session.js';

const MODES: Mode[] = ['talaria', 'iptables', 'nftables'];

export const e2eCommand = new Command('e2e')
  .description('Run the end-to-end suite (Kubernetes Service behaviours, connection consistency under churn) on the testbed')
  .option('--mode <mode>', `one mode (${MODES.join(', ')}); all by default`)
  .option('--filter <text>', 'only the cases whose name contains this')
  .option('--faults', 'the faults suite instead: agent, controller, switch and API server failures and packet loss, each under load')
  .option('--nodes <n>', 'testbed nodes', (v) => Number(v), 3)
  .addOption(new Option('--switch <kind>', 'the switch of talaria mode: the eBPF software switch, or talaria.p4 on BMv2 (needs the P4 toolchain)').choices([...SWITCH_KINDS]).default('ebpf'))
  .option('--json <file>', 'also write the results as JSON')
  .action(async (o: { mode?: string; filter?: string; faults?: boolean; nodes: number; switch: SwitchKind; json?: string }) => {
    if (o.mode && !MODES.includes(o.mode as Mode)) throw new UserError(`--mode: unknown mode "${o.mode}" (${MODES.join(', ')})`);
    if (!Number.isInteger(o.nodes) || o.nodes < 2) throw new UserError('--nodes: the suite needs at least 2 nodes');
    // The suite builds its own testbed; a user's testbed (the default prefix) is never touched.
    process.env.TALARIA_TESTBED_PREFIX ??= 'tl-e2e-';
    process.env.TALARIA_TESTBED_STATE_DIR ??= '/run/talaria-e2e';
    if (o.switch === 'bmv2') {
      const tools = findP4Tools();
      if (typeof tools === 'string') throw new UserError(`--switch bmv2: ${tools}`);
    }
    // Node ends a process whose event loop ran dry, even with the suite still
    // awaiting something: say so and fail, rather than end silently with 0.
    // The testbed it was using is taken down, so that the next run can start.
    const unfinished = () => {
      process.stderr.write(`talaria e2e: the suite stopped before it finished, in ${progress.step} (awaiting something that can no longer happen); taking the testbed down\n`);
      process.exitCode = 1;
      void testbedDown().catch((err: Error) => process.stderr.write(`testbed down failed: ${err.message}\n`));
    };
    process.once('beforeExit', unfinished);
    const results = await runSuite({ modes: o.mode ? [o.mode as Mode] : MODES, switchKind: o.switch, filter: o.filter, faults: o.faults, nodes: o.nodes });
    process.off('beforeExit', unfinished);
    if (o.json) writeFileSync(o.json, JSON.stringify(results, null, 2) + '\n');
    if (results.some((r) => !r.passed)) process.exitCode = 1;
  });

e2eCommand.addCommand(
  new Command('probe')
    .description('Run one probe from this network namespace and print the result as JSON (used by the suite)')
    .argument('<spec>', 'the probe, as JSON')
    .action(async (spec: string) => {
      let parsed: ProbeSpec;
      try {
        parsed = JSON.parse(spec) as ProbeSpec;
      } catch {
        throw new UserError(`probe: the spec is not JSON: ${spec}`);
      }
      process.stdout.write(JSON.stringify(await runProbe(parsed)) + '\n');
    }),
  { hidden: true },
);
