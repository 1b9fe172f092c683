// The FFI binding to Debian's libbpf (libbpf.so.1, v1.1) and the few libc calls
// the loader needs. koffi and not an N-API addon: koffi ships prebuilt, so
// installing Talaria needs no compiler step, and libbpf's C API is small and
// stable enough to declare by hand here. Everything else in bpf/loader goes
// through lib() / libc(), which load the libraries on first use so that
// importing the loader costs nothing on machines that never touch eBPF.
import koffi from 'koffi';

/** A C pointer as koffi 3 represents it; 0n or null is NULL. */
export type Pointer = bigint;

type Fn<A extends unknown[], R> = (...args: A) => R;
type Buf = Buffer | Uint8Array | null;

export interface Libbpf {
  // object
  bpf_object__open_file: Fn<[string, Buffer], Pointer | null>;
  bpf_object__load: Fn<[Pointer], number>;
  bpf_object__close: Fn<[Pointer], void>;
  bpf_object__btf: Fn<[Pointer], Pointer | null>;
  bpf_object__next_map: Fn<[Pointer, Pointer | null], Pointer | null>;
  bpf_object__next_program: Fn<[Pointer, Pointer | null], Pointer | null>;
  // program
  bpf_program__name: Fn<[Pointer], string>;
  bpf_program__section_name: Fn<[Pointer], string>;
  bpf_program__fd: Fn<[Pointer], number>;
  bpf_program__type: Fn<[Pointer], number>;
  bpf_program__set_autoload: Fn<[Pointer, boolean], number>;
  bpf_program__autoload: Fn<[Pointer], boolean>;
  // map
  bpf_map__name: Fn<[Pointer], string>;
  bpf_map__fd: Fn<[Pointer], number>;
  bpf_map__type: Fn<[Pointer], number>;
  bpf_map__key_size: Fn<[Pointer], number>;
  bpf_map__value_size: Fn<[Pointer], number>;
  bpf_map__max_entries: Fn<[Pointer], number>;
  bpf_map__map_flags: Fn<[Pointer], number>;
  bpf_map__is_internal: Fn<[Pointer], boolean>;
  bpf_map__set_pin_path: Fn<[Pointer, string | null], number>;
  bpf_map__reuse_fd: Fn<[Pointer, number], number>;
  bpf_map__set_max_entries: Fn<[Pointer, number], number>;
  // low-level syscall wrappers (return -errno on failure)
  bpf_map_update_elem: Fn<[number, Buf, Buf, number], number>;
  bpf_map_lookup_elem: Fn<[number, Buf, Buf], number>;
  bpf_map_delete_elem: Fn<[number, Buf], number>;
  bpf_map_get_next_key: Fn<[number, Buf, Buf], number>;
  bpf_map_update_batch: Fn<[number, Buf, Buf, Uint32Array, Buffer], number>;
  bpf_map_delete_batch: Fn<[number, Buf, Uint32Array, Buffer], number>;
  bpf_map_lookup_batch: Fn<[number, Buf, Buf, Buf, Buf, Uint32Array, Buffer], number>;
  bpf_obj_pin: Fn<[number, string], number>;
  bpf_obj_get: Fn<[string], number>;
  bpf_obj_get_info_by_fd: Fn<[number, Buffer, Uint32Array], number>;
  bpf_prog_test_run_opts: Fn<[number, Buffer], number>;
  bpf_enable_stats: Fn<[number], number>;
  // tc
  bpf_tc_hook_create: Fn<[Buffer], number>;
  bpf_tc_hook_destroy: Fn<[Buffer], number>;
  bpf_tc_attach: Fn<[Buffer, Buffer], number>;
  bpf_tc_detach: Fn<[Buffer, Buffer], number>;
  bpf_tc_query: Fn<[Buffer, Buffer], number>;
  // btf
  btf__find_by_name_kind: Fn<[Pointer, string, number], number>;
  btf__type_by_id: Fn<[Pointer, number], Pointer | null>;
  btf__resolve_size: Fn<[Pointer, number], number>;
  btf__name_by_offset: Fn<[Pointer, number], string | null>;
  btf__parse: Fn<[string, null], Pointer | null>;
  btf__load_from_kernel_by_id: Fn<[number], Pointer | null>;
  btf__free: Fn<[Pointer], void>;
  // misc
  libbpf_strerror: Fn<[number, Buffer, number], number>;
  libbpf_num_possible_cpus: Fn<[], number>;
  libbpf_set_print: Fn<[Pointer | null], Pointer | null>;
}

export interface Libc {
  setns: Fn<[number, number], number>;
  if_nametoindex: Fn<[string], number>;
  /** Every interface of the current namespace (name and index), read from the C array if_nameindex() returns. */
  interfaces: () => { index: number; name: string }[];
  mount: Fn<[string, string, string, number, null], number>;
  vsnprintf: Fn<[Buffer, number, Pointer, Pointer], number>;
}

function load(soname: string, debianPackage: string): ReturnType<typeof koffi.load> {
  try {
    return koffi.load(soname);
  } catch (e) {
    // Not a BpfError: errors.ts imports this module, and this is a set-up problem, not a call failure.
    throw new Error(`cannot load ${soname} (install the Debian package ${debianPackage}): ${(e as Error).message}`, { cause: e });
  }
}

let libbpfCache: Libbpf | undefined;
let libcCache: Libc | undefined;

/** The bound libbpf functions; loads libbpf.so.1 on the first call. */
export function lib(): Libbpf {
  if (libbpfCache) return libbpfCache;
  const so = load('libbpf.so.1', 'libbpf1');
  const decl = [
    'void *bpf_object__open_file(const char *path, void *opts)',
    'int bpf_object__load(void *obj)',
    'void bpf_object__close(void *obj)',
    'void *bpf_object__btf(void *obj)',
    'void *bpf_object__next_map(void *obj, void *prev)',
    'void *bpf_object__next_program(void *obj, void *prev)',
    'const char *bpf_program__name(void *prog)',
    'const char *bpf_program__section_name(void *prog)',
    'int bpf_program__fd(void *prog)',
    'int bpf_program__type(void *prog)',
    'int bpf_program__set_autoload(void *prog, bool autoload)',
    'bool bpf_program__autoload(void *prog)',
    'const char *bpf_map__name(void *map)',
    'int bpf_map__fd(void *map)',
    'int bpf_map__type(void *map)',
    'uint32_t bpf_map__key_size(void *map)',
    'uint32_t bpf_map__value_size(void *map)',
    'uint32_t bpf_map__max_entries(void *map)',
    'uint32_t bpf_map__map_flags(void *map)',
    'bool bpf_map__is_internal(void *map)',
    'int bpf_map__set_pin_path(void *map, const char *path)',
    'int bpf_map__reuse_fd(void *map, int fd)',
    'int bpf_map__set_max_entries(void *map, uint32_t max_entries)',
    'int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)',
    'int bpf_map_lookup_elem(int fd, const void *key, void *value)',
    'int bpf_map_delete_elem(int fd, const void *key)',
    'int bpf_map_get_next_key(int fd, const void *key, void *next_key)',
    'int bpf_map_update_batch(int fd, const void *keys, const void *values, uint32_t *count, const void *opts)',
    'int bpf_map_delete_batch(int fd, const void *keys, uint32_t *count, const void *opts)',
    'int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, uint32_t *count, const void *opts)',
    'int bpf_obj_pin(int fd, const char *path)',
    'int bpf_obj_get(const char *path)',
    'int bpf_obj_get_info_by_fd(int fd, void *info, uint32_t *info_len)',
    'int bpf_prog_test_run_opts(int prog_fd, void *opts)',
    'int bpf_enable_stats(int type)',
    'int bpf_tc_hook_create(void *hook)',
    'int bpf_tc_hook_destroy(void *hook)',
    'int bpf_tc_attach(const void *hook, void *opts)',
    'int bpf_tc_detach(const void *hook, const void *opts)',
    'int bpf_tc_query(const void *hook, void *opts)',
    'int btf__find_by_name_kind(void *btf, const char *name, uint32_t kind)',
    'void *btf__type_by_id(void *btf, uint32_t id)',
    'int64_t btf__resolve_size(void *btf, uint32_t id)',
    'const char *btf__name_by_offset(void *btf, uint32_t offset)',
    'void *btf__parse(const char *path, void *btf_ext)',
    'void *btf__load_from_kernel_by_id(uint32_t id)',
    'void btf__free(void *btf)',
    'int libbpf_strerror(int err, char *buf, size_t size)',
    'int libbpf_num_possible_cpus()',
    'void *libbpf_set_print(void *fn)',
  ];
  const bound: Record<string, unknown> = {};
  for (const d of decl) {
    const f = so.func(d);
    bound[f.info.name] = f;
  }
  libbpfCache = bound as unknown as Libbpf;
  return libbpfCache;
}

/** The bound libc functions; loads libc.so.6 on the first call. */
export function libc(): Libc {
  if (libcCache) return libcCache;
  const so = load('libc.so.6', 'libc6');
  libcCache = {
    setns: so.func('int setns(int fd, int nstype)'),
    if_nametoindex: so.func('unsigned int if_nametoindex(const char *ifname)'),
    interfaces: interfacesOf(so),
    mount: so.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)'),
    // va_list is declared as a pointer: on x86-64 it is an array type and
    // decays to one when passed, which is how libbpf's print callback gets it.
    vsnprintf: so.func('int vsnprintf(char *buf, size_t size, void *fmt, void *ap)'),
  };
  return libcCache;
}

function interfacesOf(so: ReturnType<typeof koffi.load>): () => { index: number; name: string }[] {
  const entry = koffi.struct('talaria_if_nameindex', { if_index: 'uint', if_name: 'char *' });
  const nameindex = so.func('void *if_nameindex()');
  const free = so.func('void if_freenameindex(void *ptr)');
  return () => {
    const array = nameindex() as Pointer | null;
    if (!array) return [];
    try {
      const out: { index: number; name: string }[] = [];
      // The array ends with an entry of index 0.
      for (let i = 0; ; i++) {
        const e = koffi.decode(array, i * koffi.sizeof(entry), entry) as { if_index: number; if_name: string };
        if (e.if_index === 0) return out;
        out.push({ index: e.if_index, name: e.if_name });
      }
    } finally {
      free(array);
    }
  };
}

/** errno of the last FFI call (for the calls that return NULL or -1). */
export function lastErrno(): number {
  return koffi.errno();
}

/** The raw address of a Buffer, for pointer fields inside option structs. */
export function addressOf(buf: Buffer): bigint {
  return koffi.address(buf);
}

/** Reads `len` bytes at a C pointer (BTF type records, for instance). */
export function viewAt(ptr: Pointer, len: number): Buffer {
  return Buffer.from(koffi.view(ptr, len));
}

/** Registers a persistent C callback (libbpf's print function). */
export function registerPrintCallback(fn: (level: number, fmt: Pointer, ap: Pointer) => number): Pointer {
  const proto = koffi.proto('int talaria_libbpf_print_fn(int level, void *fmt, void *ap)');
  return koffi.register(fn, koffi.pointer(proto));
}
