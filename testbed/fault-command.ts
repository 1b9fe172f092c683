// `talaria testbed fault ...`: faults injected into the running testbed by
// its daemon (testbed/faults.ts says what each one does). The e2e faults
// suite drives these, and so can anyone trying Talaria on the testbed.
import { Command } from 'commander';
import { durationMs } from '../cli/duration.js';
import { UserError } from '../cli/errors.js';
import { controlSocket, requestControl } from './control-socket.js';
import type { FaultRequest } from './faults.js';

/** Asks the daemon for a fault and returns what it did. */
export async function injectFault(request: FaultRequest): Promise<string> {
  try {
    return await requestControl(controlSocket(), request);
  } catch (err) {
    throw new UserError(`fault ${request.fault}: ${(err as Error).message}`);
  }
}

const print = (message: string) => process.stdout.write(message + '\n');

export const faultCommand = new Command('fault').description('Inject a fault into the running testbed: a crash, a switch reboot, the API server lost, packet loss');

faultCommand
  .command('restart <process>')
  .description('Kill a process with SIGKILL and start it again (a pod\'s container: its kubelet restarts it). Names as in the state file: softswitch, bmv2, kube-apiserver, kube-proxy-NODE, nodeagent-NODE, controller-N')
  .option('--down-for <duration>', 'stay down this long before starting again (e.g. 10s)', '0s')
  .option('--cold', 'the switch: a reboot, which loses the pipeline and every table')
  .action(async (name: string, o: { downFor: string; cold?: boolean }) => {
    print(await injectFault({ fault: 'restart', process: name, downMs: durationMs('--down-for', o.downFor), cold: o.cold ?? false }));
  });

faultCommand
  .command('api-unreachable')
  .description('Every node loses the API server for a while (the API server, the kubelets and the controller manager keep working)')
  .requiredOption('--for <duration>', 'how long (e.g. 60s)')
  .action(async (o: { for: string }) => {
    print(await injectFault({ fault: 'api-unreachable', forMs: durationMs('--for', o.for) }));
  });

faultCommand
  .command('loss <percent>')
  .description('Drop this percentage of the packets leaving the switch\'s ports (0 stops it and prints how many were dropped)')
  .action(async (percent: string) => {
    const n = Number(percent.replace(/%$/, ''));
    if (!Number.isFinite(n) || n < 0 || n > 100) throw new UserError(`fault loss: the percentage must be from 0 to 100, not ${JSON.stringify(percent)}`);
    print(await injectFault({ fault: 'loss', percent: n }));
  });

faultCommand
  .command('node-lost <node>')
  .description('A node drops off the network: its uplink down, its kubelet silent (its pods keep running); --back brings it back')
  .option('--back', 'the node is found again')
  .action(async (node: string, o: { back?: boolean }) => {
    print(await injectFault({ fault: 'node-lost', node, back: o.back ?? false }));
  });
