// Runs async tasks one at a time, in arrival order: Writes and pipeline
// changes must not interleave their state checks with each other.
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
