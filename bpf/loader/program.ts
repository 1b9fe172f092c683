// A loaded BPF program: its name and fd, as handed to TC attach, test runs,
// stats and pins. Programs either belong to a BpfObject (which closes them)
// or were opened from a pin (and close themselves).
import { closeSync } from 'node:fs';
import { BpfError } from './errors.js';
import { openPinnedFd, pinFd, unpin } from './pin.js';

/** Anything with a program fd: a BpfProgram, or a fd obtained elsewhere. */
export interface ProgramRef {
  readonly name: string;
  readonly fd: number;
}

export class BpfProgram implements ProgramRef {
  private fdValue: number;

  /** Use BpfObject.program() or BpfProgram.openPinned() rather than this. */
  constructor(
    readonly name: string,
    fd: number,
    /** The ELF section ("tc", "xdp"...); empty for pinned programs. */
    readonly section: string,
    private readonly ownsFd: boolean,
  ) {
    this.fdValue = fd;
  }

  /** Opens a pinned program; close() releases it. */
  static openPinned(path: string): BpfProgram {
    return new BpfProgram(path.split('/').pop() ?? path, openPinnedFd(path), '', true);
  }

  /** The program fd; valid until the program (or its object) is closed. */
  get fd(): number {
    if (this.fdValue < 0) throw new BpfError({ call: 'BpfProgram.fd', object: this.name, errno: 9 /* EBADF */, detail: 'program is closed or was not loaded' });
    return this.fdValue;
  }

  /** Pins the program at a path on bpffs. */
  pin(path: string): void {
    pinFd(this.fd, path, this.name);
  }

  /** Removes a pin of this program; false when there was none. */
  unpin(path: string): boolean {
    return unpin(path);
  }

  close(): void {
    if (this.ownsFd && this.fdValue >= 0) closeSync(this.fdValue);
    this.fdValue = -1;
  }
}
