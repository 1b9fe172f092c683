// Primary election among the controllers connected over StreamChannel (one
// device, the default role). The controller with the highest election id is
// primary (status OK); the others are backups (ALREADY_EXISTS, told the
// primary's id). When the primary's stream goes away there is no primary
// (NOT_FOUND, with the highest id ever seen) until a controller arbitrates
// again. Every change of primary is announced to every connected stream.
import { Code } from '../proto/codes.js';
import type { CodeNumber } from '../proto/codes.js';
import { UpdateError } from './update-error.js';

/** One StreamChannel as the arbitrator sees it. */
export interface ArbitrationPeer {
  /** Sends a MasterArbitrationUpdate with this outcome to the controller. */
  notify(outcome: ArbitrationOutcome): void;
}

export interface ArbitrationOutcome {
  code: CodeNumber;
  /** The election id to report: the primary's, or the highest seen when there is none. */
  electionId: bigint;
  message: string;
}

export class Arbitrator {
  private readonly peers = new Map<ArbitrationPeer, bigint>();
  private primary: ArbitrationPeer | undefined;
  private highestSeen = 0n;

  /** Election id of the current primary, if there is one. */
  get primaryElectionId(): bigint | undefined {
    return this.primary ? this.peers.get(this.primary) : undefined;
  }

  /** Whether a request carrying this election id comes from the primary. */
  isPrimary(electionId: bigint): boolean {
    return this.primaryElectionId !== undefined && this.primaryElectionId === electionId;
  }

  /**
   * A controller arbitrates (first time or again). Throws UpdateError
   * INVALID_ARGUMENT when another connected controller uses the same id.
   */
  arbitrate(peer: ArbitrationPeer, electionId: bigint): void {
    for (const [other, id] of this.peers) {
      if (other !== peer && id === electionId) {
        throw new UpdateError(Code.INVALID_ARGUMENT, `election id ${electionId} is already used by another controller`);
      }
    }
    this.peers.set(peer, electionId);
    if (electionId > this.highestSeen) this.highestSeen = electionId;
    const before = this.primary;
    this.primary = this.highest();
    if (this.primary !== before) this.announce();
    else peer.notify(this.outcomeFor(peer));
  }

  /** A stream ended. Losing the primary leaves no primary until someone arbitrates. */
  remove(peer: ArbitrationPeer): void {
    if (!this.peers.delete(peer)) return;
    if (this.primary === peer) {
      this.primary = undefined;
      this.announce();
    }
  }

  private highest(): ArbitrationPeer | undefined {
    let best: ArbitrationPeer | undefined;
    let bestId = -1n;
    for (const [peer, id] of this.peers) {
      if (id > bestId) {
        best = peer;
        bestId = id;
      }
    }
    return best;
  }

  private outcomeFor(peer: ArbitrationPeer): ArbitrationOutcome {
    const primaryId = this.primaryElectionId;
    if (primaryId === undefined) return { code: Code.NOT_FOUND, electionId: this.highestSeen, message: 'no primary controller' };
    if (peer === this.primary) return { code: Code.OK, electionId: primaryId, message: 'primary' };
    return { code: Code.ALREADY_EXISTS, electionId: primaryId, message: `backup: the primary has election id ${primaryId}` };
  }

  private announce(): void {
    for (const peer of this.peers.keys()) peer.notify(this.outcomeFor(peer));
  }
}
