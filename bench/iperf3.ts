// Bulk TCP (the tcp-bulk workload) with iperf3's JSON output.
import { runInNetns } from '../testbed/run-in-netns.js';

export interface BulkResult {
  bitsPerSecond: number;
  bytes: number;
  durationSeconds: number;
  retransmits: number;
}

export function parseIperfJson(stdout: string): BulkResult {
  let doc: { error?: string; end?: { sum_received?: { bits_per_second: number; bytes: number; seconds: number }; sum_sent?: { retransmits?: number } } };
  try {
    doc = JSON.parse(stdout) as typeof doc;
  } catch {
    throw new Error(`iperf3 printed no JSON: ${stdout.slice(0, 300)}`);
  }
  if (doc.error) throw new Error(`iperf3: ${doc.error}`);
  const rx = doc.end?.sum_received;
  if (!rx) throw new Error('iperf3: no end.sum_received in its report');
  return { bitsPerSecond: rx.bits_per_second, bytes: rx.bytes, durationSeconds: rx.seconds, retransmits: doc.end?.sum_sent?.retransmits ?? 0 };
}

export async function runIperfClient(netns: string, host: string, port: number, durationSeconds: number, streams: number): Promise<BulkResult> {
  const argv = ['iperf3', '-c', host, '-p', String(port), '-t', String(durationSeconds), '-P', String(streams), '-J'];
  const res = await runInNetns(netns, argv, (durationSeconds + 30) * 1000);
  if (!res.stdout.trim()) throw new Error(`iperf3 -c ${host}:${port} exited with ${res.code ?? 'a signal'} and no report: ${res.stderr.trim()}`);
  return parseIperfJson(res.stdout);
}
