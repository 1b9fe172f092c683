// gRPC / google.rpc canonical codes used by P4Runtime, by name. grpc-js's
// `status` enum carries the same numbers; this module keeps the P4 layers
// free of a grpc-js import where only the numbers are needed.
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type CodeName = keyof typeof Code;
export type CodeNumber = (typeof Code)[CodeName];

const names = new Map<number, CodeName>(Object.entries(Code).map(([k, v]) => [v, k as CodeName]));

/** 'ALREADY_EXISTS' for 6; 'CODE_99' for numbers outside the canonical set. */
export function codeName(code: number): string {
  return names.get(code) ?? `CODE_${code}`;
}
