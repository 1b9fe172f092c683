// One log format for every long-running Talaria process, chosen with
// --log-format. `text` is klog's header (severity, month and day, time with
// microseconds, pid, source) with the component in the source's place, so
// that the pipelines that parse kube-proxy's lines parse ours:
//   I1204 16:03:10.123456   12345 controller] running as node-1_4242_abc
// `json` is one object per line, as klog's JSON format writes them:
//   {"ts":1796400190.123,"caller":"controller","msg":"running as ...","v":0}
import { Option } from 'commander';

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type Log = (msg: string) => void;

/** The --log-format option, for every daemon's command. */
export function logFormatOption(): Option {
  return new Option('--log-format <format>', 'text (klog\'s header) or json (one object per line)').choices(LOG_FORMATS).default('text');
}

export function klogText(component: string, msg: string, now: Date, pid: number): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const micros = String(now.getUTCMilliseconds() * 1000).padStart(6, '0');
  return `I${two(now.getUTCMonth() + 1)}${two(now.getUTCDate())} ${two(now.getUTCHours())}:${two(now.getUTCMinutes())}:${two(now.getUTCSeconds())}.${micros} ${String(pid).padStart(7)} ${component}] ${msg}`;
}

export function klogJson(component: string, msg: string, now: Date): string {
  return JSON.stringify({ ts: now.getTime() / 1000, caller: component, msg, v: 0 });
}

/** A logger writing one line per message to stderr. */
export function makeLog(component: string, format: LogFormat = 'text', write: (line: string) => void = (l) => process.stderr.write(l)): Log {
  return (msg) => {
    const now = new Date();
    // A multi-line message (a stack) stays one record.
    write(`${format === 'json' ? klogJson(component, msg, now) : klogText(component, msg.replace(/\n/g, '\n    '), now, process.pid)}\n`);
  };
}
