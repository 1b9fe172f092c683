// `talaria switch tables`: what a P4Runtime switch holds, read over
// P4Runtime (any target: the eBPF software switch or a P4 switch) in a
// read-only session.
import { Command, Option } from 'commander';
import { UserError } from '../cli/errors.js';
import { openReadOnly } from './client/read-only.js';
import { addClientTransportOptions, clientTransport, type ClientTransportFlags } from './transport-flags.js';
import { P4RuntimeError } from './client/errors.js';
import { P4InfoIndex } from './p4info/p4info.js';
import { talariaP4Info } from './p4info/load-p4info.js';
import { readTables, renderTables } from './switch-tables.js';

interface TablesOptions extends ClientTransportFlags {
  json?: boolean;
  addr: string;
  deviceId: string;
  timeout: string;
}

async function tables(options: TablesOptions): Promise<void> {
  if (!/^\d+$/.test(options.deviceId) || BigInt(options.deviceId) === 0n) throw new UserError(`--device-id ${options.deviceId}: a non-zero integer`);
  const transport = clientTransport(options);
  const client = await openReadOnly({ address: options.addr, deviceId: BigInt(options.deviceId), transport, deadlineMs: Number(options.timeout) }).catch((e: Error) => {
    throw new UserError(`cannot reach a P4Runtime server at ${options.addr}: ${e.message.split('\n')[0]}`);
  });
  try {
    // Names come from the device's own P4Info; talaria.p4's when it has none to give.
    const pipeline = await client.getPipeline('P4INFO_AND_COOKIE').catch((err: unknown) => {
      if (err instanceof P4RuntimeError && err.codeName === 'FAILED_PRECONDITION') {
        throw new UserError(`device ${options.deviceId} at ${options.addr} has no forwarding pipeline yet (the controller sets it)`);
      }
      throw err;
    });
    const p4info = pipeline.p4info ? new P4InfoIndex(pipeline.p4info) : talariaP4Info();
    const json = await readTables(client, p4info);
    process.stdout.write(options.json ? `${JSON.stringify(json, null, 2)}\n` : `${renderTables(json)}\n`);
  } catch (err) {
    if (err instanceof P4RuntimeError) throw new UserError(`${options.addr}: ${err.message}`);
    throw err;
  } finally {
    await client.close();
  }
}

export const switchCommand = new Command('switch')
  .description('inspect a P4Runtime switch (the software switch or a P4 target)')
  .addCommand(
    addClientTransportOptions(new Command('tables'))
      .description('print every table entry with counters, and the selector groups (like `cilium service list`)')
      .option('--json', 'stable JSON: {"tables": {...}, "groups": {...}}')
      .option('--addr <host:port>', 'P4Runtime server', '127.0.0.1:9559')
      .option('--device-id <n>', 'P4Runtime device id', '1')
      .addOption(new Option('--timeout <ms>', 'deadline per call').default('10000'))
      .action(tables),
  );
