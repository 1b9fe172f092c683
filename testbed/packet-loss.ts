// Random packet loss on the switch's ports (bpf/packet_loss.bpf.c), for the
// faults suite: this kernel has no netem. The program sits on the egress of
// every switch port, so each packet that crosses the rack meets it exactly
// once, in every mode (the eBPF switch, BMv2 and the baselines' bridge all
// send through the ports' egress).
import { BpfObject, attachTc, detachTc } from '../bpf/loader/index.js';
import type { BpfMap, BpfProgram } from '../bpf/loader/index.js';
import { structCodec, u32, u64 } from '../bpf/loader/codec.js';
import { bpfObjectPath } from '../bpf/testing/paths.js';

/** Its own filter slot on egress, clear of the data path's (handle 1 / the agent's 0x7a1, priority 1). */
const LOSS_TC = { handle: 0x1055, priority: 2 } as const;
const PER_MILLION = 1_000_000;

const lossConfig = structCodec({ name: 'loss_config', size: 4, fields: { per_million: [0, 'u32'] } });

export interface LossCounts {
  seen: number;
  dropped: number;
}

export class PacketLoss {
  private readonly config: BpfMap<number, { per_million: number }>;
  private readonly stats: BpfMap<number, bigint[]>;
  private attached: { ifname: string; netns: string }[] = [];
  readonly program: BpfProgram;

  private constructor(private readonly obj: BpfObject) {
    this.program = obj.program('drop_randomly');
    this.config = obj.map('loss_config', u32, lossConfig);
    this.stats = obj.perCpuMap('loss_stats', u32, u64);
  }

  static load(path = bpfObjectPath('packet_loss')): PacketLoss {
    return new PacketLoss(BpfObject.open(path));
  }

  /** The share of packets dropped, from 0 to 1 (kept to a millionth). */
  setRate(rate: number): void {
    if (!(rate >= 0 && rate <= 1)) throw new Error(`packet loss: the rate must be from 0 to 1, not ${rate}`);
    this.config.update(0, { per_million: Math.round(rate * PER_MILLION) });
  }

  /** Attaches to the egress of each port (in the `netns` namespace). */
  attach(ports: readonly string[], netns: string): void {
    for (const ifname of ports) {
      attachTc({ ifname, netns, direction: 'egress', program: this.program, ...LOSS_TC });
      this.attached.push({ ifname, netns });
    }
  }

  counts(): LossCounts {
    const sum = (i: number) => Number((this.stats.lookup(i) ?? []).reduce((a, b) => a + b, 0n));
    return { seen: sum(0), dropped: sum(1) };
  }

  /** Detaches from every port and frees the program and maps. */
  close(): void {
    for (const a of this.attached) detachTc({ ...a, direction: 'egress', ...LOSS_TC });
    this.attached = [];
    this.obj.close();
  }
}
