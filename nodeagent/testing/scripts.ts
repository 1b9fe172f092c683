// Small node programs the namespace tests run inside pods (`node -e`): a TCP
// echo server that reports who connected, and a client that keeps N
// connections open and does a round trip on each whenever told to.
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';

export const ECHO_SERVER = `
const net = require('net');
const s = net.createServer((c) => {
  console.log('from ' + c.remoteAddress + ':' + c.remotePort);
  c.on('data', (d) => c.write(d));
  c.on('error', () => {});
});
s.listen(+process.argv[1], '0.0.0.0', () => console.log('listening'));
`;

export const CLIENT = `
const net = require('net');
const [addr, port, n] = [process.argv[1], +process.argv[2], +process.argv[3]];
const socks = [];
let errors = 0;
const connect = (i) => new Promise((resolve) => {
  const s = net.connect({ host: addr, port }, () => resolve(s));
  s.setNoDelay(true);
  s.on('error', (e) => { errors++; console.log('error ' + i + ' ' + e.code); resolve(null); });
});
const trip = (s, msg) => new Promise((resolve) => {
  if (!s || s.destroyed) return resolve(false);
  let buf = '';
  const t = setTimeout(() => { s.off('data', on); resolve(false); }, 15000);
  const on = (d) => { buf += d; if (buf === msg) { clearTimeout(t); s.off('data', on); resolve(true); } };
  s.on('data', on);
  s.write(msg);
});
let round = 0;
(async () => {
  for (let i = 0; i < n; i++) socks.push(await connect(i));
  console.log('connected ' + socks.filter(Boolean).length + ' ' + errors);
  const rl = require('readline').createInterface({ input: process.stdin });
  rl.on('line', async () => {
    round++;
    const res = await Promise.all(socks.map((s, i) => trip(s, 'round ' + round + ' conn ' + i + '\\n')));
    console.log('result ' + res.filter(Boolean).length + ' ' + res.filter((x) => !x).length + ' ' + errors);
  });
})();
`;

/** Lines a child prints, awaited one by one. */
export class LineReader {
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;

  constructor(child: ChildProcess) {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      this.lines.push(l);
      this.waiter?.();
    });
  }

  /** The next line matching re (lines before it are skipped), or an error after timeoutMs. */
  async next(re: RegExp, timeoutMs = 30_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.lines.findIndex((l) => re.test(l));
      if (i >= 0) return this.lines.splice(0, i + 1)[i]!;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${re}; got ${JSON.stringify(this.lines.slice(-5))}`);
      await Promise.race([new Promise<void>((r) => (this.waiter = r)), new Promise((r) => setTimeout(r, Math.min(left, 200)))]);
    }
  }

  /** Every line so far. */
  all(): string[] {
    return [...this.lines];
  }
}

