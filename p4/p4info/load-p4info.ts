// Reading a P4Info: from the repository's text file (the reference; what p4c
// writes) or from the wire (a SetForwardingPipelineConfig). Either way the
// result is the P4Info message in load.ts's CONVERSION form plus its index.
import { readFileSync } from 'node:fs';
import { CONVERSION, messageType } from '../proto/load.js';
import { TALARIA_P4INFO } from '../paths.js';
import { P4InfoIndex } from './p4info.js';
import type { P4InfoMessage } from './p4info.js';
import { parseTextFormat } from './text-format.js';

const P4INFO_TYPE = 'p4.config.v1.P4Info';

/** A P4Info message (any form fromObject accepts) normalised to the CONVERSION form. */
export function normaliseP4Info(message: object): P4InfoMessage {
  const type = messageType(P4INFO_TYPE);
  return type.toObject(type.fromObject(message), CONVERSION) as P4InfoMessage;
}

/** Parses P4Info text format (*.p4info.txtpb). */
export function parseP4InfoText(text: string): P4InfoMessage {
  return normaliseP4Info(parseTextFormat(messageType(P4INFO_TYPE), text));
}

/** Loads and indexes a P4Info text file (default: talaria.p4's). */
export function loadP4InfoFile(path: string = TALARIA_P4INFO): P4InfoIndex {
  return new P4InfoIndex(parseP4InfoText(readFileSync(path, 'utf8')));
}

let talaria: P4InfoIndex | undefined;

/** talaria.p4's P4Info, loaded once. */
export function talariaP4Info(): P4InfoIndex {
  talaria ??= loadP4InfoFile();
  return talaria;
}

/** The binary encoding of a P4Info message (for ForwardingPipelineConfig.p4info comparisons and hashing). */
export function encodeP4Info(message: P4InfoMessage): Buffer {
  const type = messageType(P4INFO_TYPE);
  return Buffer.from(type.encode(type.fromObject(message)).finish());
}
