// The eBPF loader: libbpf from TypeScript. Named exports only; see each file.
export { BpfObject } from './object.js';
export type { PinMigration } from './object.js';
export type { OpenOptions } from './object.js';
export { BpfProgram } from './program.js';
export type { ProgramRef } from './program.js';
export { BpfMap, BPF_ANY, BPF_NOEXIST, BPF_EXIST, MapType, isPerCpuMapType, possibleCpus, mapInfoByFd } from './map.js';
export type { MapInfo, UpdateFlags } from './map.js';
export {
  u8, u16, u32, i32, u64, i64, be16, be32, be64, ipv4, ipv6, mac, bytes, structCodec, perCpuCodec, parseIpv6, formatIpv6,
} from './codec.js';
export type { Codec, CodecValue, FieldSpec, FieldType, StructCodec, StructField, StructValue } from './codec.js';
export { checkLayoutAgainstBtf, layoutProblems } from './btf-layout.js';
export type { LayoutCheckOptions } from './btf-layout.js';
export {
  BpfError, MapFullError, KeyNotFoundError, KeyExistsError, WrongSizeError, VerifierError, LayoutMismatchError, errnoText,
} from './errors.js';
export type { BpfErrorDetails } from './errors.js';
export { withNetns, netnsPath, ifIndex } from './netns.js';
export { attachTc, detachTc, queryTc, destroyClsact, DEFAULT_TC_HANDLE, DEFAULT_TC_PRIORITY } from './tc.js';
export type { TcAttachment, TcDirection, TcTarget } from './tc.js';
export { BPFFS_ROOT, DEFAULT_PIN_DIR, ensureBpffs, ensurePinDir, pinFd, openPinnedFd, unpin, removePinDir } from './pin.js';
export { runProgram, TC_ACT, XDP_ACT } from './test-run.js';
export type { TestRunOptions, TestRunResult } from './test-run.js';
export { programStats, enableBpfStats, bpfStatsEnabled } from './stats.js';
export type { ProgramStats, StatsHandle } from './stats.js';
export { trimVerifierLog } from './libbpf-log.js';
