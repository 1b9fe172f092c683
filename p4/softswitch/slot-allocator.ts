// Hands out indices of a fixed-size array map: direct counter slots of table
// entries and member slots. Never-used slots go first, then released ones
// oldest first (FIFO), so that a slot a packet may still be reading on
// another CPU is reused as late as possible.

export class SlotAllocator {
  private next = 0;
  private readonly free: number[] = [];
  private head = 0;
  private inUse = 0;

  constructor(readonly size: number) {}

  /** An allocator where `used` slots are taken (rebuilt from the maps after a restart). */
  static fromUsed(size: number, used: Iterable<number>): SlotAllocator {
    const a = new SlotAllocator(size);
    const taken = new Set<number>();
    for (const u of used) if (u >= 0 && u < size) taken.add(u);
    const top = taken.size ? Math.max(...taken) + 1 : 0;
    for (let i = 0; i < top; i++) if (!taken.has(i)) a.free.push(i);
    a.next = top;
    a.inUse = taken.size;
    return a;
  }

  /** A free slot, or undefined when all are taken. */
  take(): number | undefined {
    // Never-used slots first: a freed slot waits as long as possible before reuse.
    if (this.next < this.size) {
      this.inUse++;
      return this.next++;
    }
    if (this.head < this.free.length) {
      const s = this.free[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.free.length) {
        this.free.splice(0, this.head);
        this.head = 0;
      }
      this.inUse++;
      return s;
    }
    return undefined;
  }

  release(slot: number): void {
    this.free.push(slot);
    this.inUse--;
  }

  get used(): number {
    return this.inUse;
  }

  get available(): number {
    return this.size - this.inUse;
  }
}
