// The P4Runtime client's public surface (controller, `talaria switch`).
export { P4RuntimeClient } from './client.js';
export type { P4RuntimeClientOptions, PipelineConfig, SetPipelineOptions, WriteOptions } from './client.js';
export type { ArbitrationResult } from './arbitration-channel.js';
export { P4RuntimeError, P4RuntimeWriteError } from './errors.js';
export type { UpdateFailure } from './errors.js';
export { Code, codeName } from '../proto/codes.js';
export type { Entity, Update, TableEntry, ActionProfileMember, ActionProfileGroup, Atomicity } from '../proto/types.js';
export { P4InfoIndex, P4InfoLookupError } from '../p4info/p4info.js';
export { talariaP4Info, loadP4InfoFile } from '../p4info/load-p4info.js';
export {
  buildAction,
  buildGroup,
  buildMember,
  buildTableEntry,
  describeTableEntry,
  entityLabel,
  tableWildcard,
} from '../p4info/entities.js';
export type { ActionInput, DescribedTableEntry, MatchInput, TableActionInput } from '../p4info/entities.js';
