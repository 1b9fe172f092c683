// What the agent tells the cluster about its node, on its Node object: the
// uplink MAC (the controller routes to the node with it) and the
// TalariaAgentReady condition (`kubectl describe node` shows why an agent
// does not serve: the failed preflight check). Writes never block the agent:
// the latest state is retried in the background until the API server takes it.
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { agentReadyCondition, uplinkMacAnnotation } from '../proxy/node-annotations.js';

export interface AgentNodeState {
  uplinkMac?: string;
  ready: boolean;
  /** CamelCase, as condition reasons are. */
  reason: string;
  message: string;
}

/** The PATCH bodies of a state; lastTransitionTime only moves when `ready` flips. */
export function nodePatches(s: AgentNodeState, transition: Date, now: Date): { metadata?: object; status: object } {
  return {
    ...(s.uplinkMac ? { metadata: { metadata: { annotations: { [uplinkMacAnnotation]: s.uplinkMac } } } } : {}),
    status: {
      status: {
        conditions: [
          {
            type: agentReadyCondition,
            status: s.ready ? 'True' : 'False',
            reason: s.reason,
            message: s.message,
            lastHeartbeatTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
            lastTransitionTime: transition.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          },
        ],
      },
    },
  };
}

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

export class NodePublisher {
  private readonly api: CoreV1Api;
  private wanted: AgentNodeState | undefined;
  private published: AgentNodeState | undefined;
  private transition = new Date();
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Ends the wait between two retries early (stop()). */
  private wake: (() => void) | undefined;

  constructor(
    kc: KubeConfig,
    private readonly nodeName: string,
    private readonly log: (line: string) => void,
  ) {
    this.api = kc.makeApiClient(CoreV1Api);
  }

  /** Publishes `s` (replacing whatever is still waiting to be published). */
  set(s: AgentNodeState): void {
    if (this.wanted?.ready !== s.ready) this.transition = new Date();
    this.wanted = s;
    this.running ??= this.flush(RETRY_MIN_MS).finally(() => (this.running = undefined));
  }

  /** Resolves once what was set has been written (or the publisher stopped). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private async flush(delayMs: number): Promise<void> {
    while (!this.stopped && this.wanted && this.wanted !== this.published) {
      const s = this.wanted;
      const body = nodePatches(s, this.transition, new Date());
      try {
        if (body.metadata && s.uplinkMac !== this.published?.uplinkMac) {
          await this.api.patchNode({ name: this.nodeName, body: body.metadata }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
        }
        // Strategic merge: conditions merge by type, the kubelet's stay.
        await this.api.patchNodeStatus({ name: this.nodeName, body: body.status }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
        this.published = s;
        delayMs = RETRY_MIN_MS;
      } catch (e) {
        this.log(`publishing on Node ${this.nodeName} failed (retrying in ${delayMs / 1000} s): ${(e as Error).message}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
        delayMs = Math.min(delayMs * 2, RETRY_MAX_MS);
      }
    }
  }
}
