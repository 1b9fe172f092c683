// A one-line progress display on a terminal (mode, point of the sweep, time
// left), and nothing at all when stderr is not a terminal (CI, pipes).

export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private readonly tty: boolean;

  constructor(private readonly total: number, stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY);
    this.stream = stream;
  }

  private readonly stream: NodeJS.WriteStream;

  /** Estimated seconds left, from the average time per finished step. */
  secondsLeft(now = Date.now()): number {
    if (this.done === 0) return NaN;
    return ((now - this.started) / 1000 / this.done) * (this.total - this.done);
  }

  step(label: string): void {
    this.done++;
    this.show(label);
  }

  show(label: string): void {
    if (!this.tty) return;
    const left = this.secondsLeft();
    const eta = Number.isFinite(left) ? `${Math.floor(left / 60)}m${String(Math.round(left % 60)).padStart(2, '0')}s left` : 'estimating';
    const line = `[${this.done}/${this.total}] ${label} — ${eta}`;
    this.stream.write(`\r\x1b[K${line.slice(0, (this.stream.columns || 100) - 1)}`);
  }

  finish(): void {
    if (this.tty) this.stream.write('\r\x1b[K');
  }
}
