// The forwarding pipeline a device runs: which P4Info it accepts (talaria.p4's
// by default), what was committed or saved, and the checks of
// SetForwardingPipelineConfig.
import type { P4InfoIndex, P4InfoMessage } from '../p4info/p4info.js';
import { P4InfoIndex as Index } from '../p4info/p4info.js';
import { normaliseP4Info } from '../p4info/load-p4info.js';
import { p4infoMismatch } from '../p4info/compare.js';
import { Code } from '../proto/codes.js';
import type { ForwardingPipelineConfig } from '../proto/types.js';
import { UpdateError } from './update-error.js';

export interface Pipeline {
  readonly p4info: P4InfoIndex;
  /** null when the controller sent no cookie. */
  readonly cookie: string | null;
  readonly deviceConfig: Buffer;
}

/** Checks an offered config against the program the target implements; the pipeline to commit. */
export function verifyPipeline(config: ForwardingPipelineConfig | null | undefined, accepted: P4InfoIndex): Pipeline {
  if (!config?.p4info) throw new UpdateError(Code.INVALID_ARGUMENT, 'ForwardingPipelineConfig has no p4info');
  const offered = new Index(normaliseP4Info(config.p4info) as P4InfoMessage);
  const mismatch = p4infoMismatch(offered, accepted);
  if (mismatch) throw new UpdateError(Code.INVALID_ARGUMENT, `P4Info does not match the program this target runs (talaria.p4): ${mismatch}`);
  return { p4info: offered, cookie: config.cookie ? String(config.cookie.cookie) : null, deviceConfig: config.p4_device_config ?? Buffer.alloc(0) };
}
