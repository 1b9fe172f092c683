// Problems become Kubernetes Events on the Service (core/v1 events API), the
// place `kubectl describe service` shows them. Best effort: an Event that
// cannot be written is logged, never retried forever.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { eventReasons, type Problem } from '../proxy/problem.js';

export const COMPONENT = 'talaria-controller';

export interface EventSink {
  create(namespace: string, event: object): Promise<void>;
}

export function eventSink(kc: KubeConfig): EventSink {
  const api = kc.makeApiClient(CoreV1Api);
  return {
    async create(namespace, body) {
      await api.createNamespacedEvent({ namespace, body: body as never });
    },
  };
}

export class EventRecorder {
  constructor(
    private readonly sink: EventSink,
    private readonly instance: string,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** One Warning Event per problem on its Service. */
  async record(problems: readonly Problem[]): Promise<void> {
    await Promise.all(problems.map((p) => this.one(p)));
  }

  private async one(p: Problem): Promise<void> {
    const [namespace, name] = p.service.split('/', 2);
    const now = new Date();
    try {
      await this.sink.create(namespace, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${name}.`, namespace },
        involvedObject: { apiVersion: 'v1', kind: 'Service', namespace, name, fieldPath: p.field },
        reason: eventReasons[p.reason],
        message: `${p.field}: ${p.message}`,
        type: 'Warning',
        source: { component: COMPONENT },
        reportingComponent: COMPONENT,
        reportingInstance: this.instance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (err) {
      this.log(`event for Service ${p.service} not written: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
