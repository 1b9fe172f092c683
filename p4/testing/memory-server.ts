// A standalone P4Runtime server with the in-memory target (for benchmarks
// and manual experiments): prints the port, runs until SIGINT/SIGTERM.
//   node --import tsx p4/testing/memory-server.ts [--port 0] [--device-id 1]
import { parseArgs } from 'node:util';
import { MemoryTarget } from '../server/memory-target.js';
import { P4RuntimeServer } from '../server/server.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, 'device-id': { type: 'string', default: '1' } } });
const server = new P4RuntimeServer({ deviceId: BigInt(values['device-id']), target: new MemoryTarget() });
const port = await server.start(`127.0.0.1:${values.port}`);
process.stdout.write(`${port}\n`);
const stop = (): void => {
  server.stop().then(() => process.exit(0), () => process.exit(1));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
