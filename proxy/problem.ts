// What could not be programmed, and why, naming the Service and the field.
// The controller turns it into a Kubernetes Event on the Service, a log line
// and a `talaria_services_unprogrammed{reason}` gauge; the node agent into a
// log line and `talaria_nodeagent_bad_input_total`. Bad input never stops
// the other Services from being programmed.

/** Why (part of) a Service is not programmed. */
export type ProblemReason = 'invalid' | 'conflict' | 'unsupported' | 'capacity';

export interface Problem {
  /** "namespace/name" of the Service the problem is reported on. */
  readonly service: string;
  /** The field that is wrong, as a JSON path into the object (e.g. `spec.ports[1].nodePort`). */
  readonly field: string;
  readonly reason: ProblemReason;
  readonly message: string;
}

/** Event reason strings (CamelCase, as Kubernetes Events use). */
export const eventReasons: Record<ProblemReason, string> = {
  invalid: 'TalariaInvalidField',
  conflict: 'TalariaFrontendConflict',
  unsupported: 'TalariaUnsupported',
  capacity: 'TalariaSwitchFull',
};

export function formatProblem(p: Problem): string {
  return `Service ${p.service}: ${p.field}: ${p.message}`;
}
