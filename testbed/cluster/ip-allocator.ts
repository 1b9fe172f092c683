// Service ClusterIP and NodePort allocation: bitmaps over the ranges, the
// next free value after a moving cursor (O(1) amortized for bulk creation),
// requested values honoured or refused as already allocated.

import { isIPv4 } from 'node:net';

/** The Kubernetes default Service CIDR. */
export const SERVICE_CIDR = '10.96.0.0/12';
/** The NodePort range Kubernetes uses by default. */
export const NODE_PORT_RANGE = { first: 30000, last: 32767 };
/** The `kubernetes` Service's address: the first in the range, never handed out dynamically. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';

export class AllocationError extends Error {
  override name = 'AllocationError';
  constructor(
    message: string,
    readonly kind: 'full' | 'taken' | 'outside',
  ) {
    super(message);
  }
}

/** A bitmap over [0, size) with a cursor for the next dynamic allocation. */
class Bitmap {
  private readonly bits: Uint8Array;
  private cursor: number;
  used = 0;
  constructor(
    readonly size: number,
    start = 0,
  ) {
    this.bits = new Uint8Array(size);
    this.cursor = start;
  }
  has(i: number): boolean {
    return this.bits[i] === 1;
  }
  set(i: number): void {
    if (!this.bits[i]) this.used++;
    this.bits[i] = 1;
  }
  clear(i: number): void {
    if (this.bits[i]) this.used--;
    this.bits[i] = 0;
  }
  /** The next clear index from the cursor, wrapping; -1 when full. */
  next(skip: (i: number) => boolean): number {
    for (let n = 0; n < this.size; n++) {
      const i = (this.cursor + n) % this.size;
      if (!this.bits[i] && !skip(i)) {
        this.cursor = (i + 1) % this.size;
        return i;
      }
    }
    return -1;
  }
}

function ipToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function intToIp(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** ClusterIPs from a CIDR; the network address, the broadcast address and the first address (the `kubernetes` Service's) are never handed out dynamically. */
export class ClusterIpAllocator {
  private readonly base: number;
  private readonly map: Bitmap;
  constructor(readonly cidr = SERVICE_CIDR) {
    const [net, bits] = cidr.split('/');
    const len = Number(bits);
    this.base = (ipToInt(net!) & (len === 0 ? 0 : (~0 << (32 - len)) >>> 0)) >>> 0;
    const size = 2 ** (32 - len);
    // Dynamic allocation starts above a static band (as Kubernetes since 1.27), so
    // well-known addresses such as 10.96.0.10 stay free for Services that ask for them.
    this.map = new Bitmap(size, Math.min(Math.max(16, size >> 4), 256));
  }

  /** How many addresses are allocated. */
  get used(): number {
    return this.map.used;
  }

  contains(ip: string): boolean {
    if (typeof ip !== 'string' || !isIPv4(ip)) return false;
    const off = ipToInt(ip) - this.base;
    return off >= 0 && off < this.map.size;
  }

  /** Allocate a specific address; throws AllocationError if outside the range or taken. */
  allocate(ip: string): string {
    if (!this.contains(ip)) throw new AllocationError(`the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.cidr}`, 'outside');
    const off = ipToInt(ip) - this.base;
    if (this.map.has(off)) throw new AllocationError(`the provided IP (${ip}) is already allocated`, 'taken');
    this.map.set(off);
    return ip;
  }

  /** Allocate the next free address. */
  allocateNext(): string {
    // Offset 1 is the `kubernetes` Service's address (10.96.0.1 in the default range).
    const off = this.map.next((i) => i <= 1 || i === this.map.size - 1);
    if (off < 0) throw new AllocationError(`range is full: no free IP in ${this.cidr}`, 'full');
    this.map.set(off);
    return intToIp(this.base + off);
  }

  release(ip: string): void {
    if (this.contains(ip)) this.map.clear(ipToInt(ip) - this.base);
  }
}

/** NodePorts from a port range. */
export class NodePortAllocator {
  private readonly map: Bitmap;
  constructor(readonly range = NODE_PORT_RANGE) {
    this.map = new Bitmap(range.last - range.first + 1);
  }

  get used(): number {
    return this.map.used;
  }

  allocate(port: number): number {
    if (!Number.isInteger(port) || port < this.range.first || port > this.range.last) {
      throw new AllocationError(`provided port is not in the valid range. The range of valid ports is ${this.range.first}-${this.range.last}`, 'outside');
    }
    const off = port - this.range.first;
    if (this.map.has(off)) throw new AllocationError('provided port is already allocated', 'taken');
    this.map.set(off);
    return port;
  }

  allocateNext(): number {
    const off = this.map.next(() => false);
    if (off < 0) throw new AllocationError(`range is full: no free NodePort in ${this.range.first}-${this.range.last}`, 'full');
    this.map.set(off);
    return this.range.first + off;
  }

  release(port: number): void {
    if (Number.isInteger(port) && port >= this.range.first && port <= this.range.last) this.map.clear(port - this.range.first);
  }
}
