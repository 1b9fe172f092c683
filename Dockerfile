# syntax=docker/dockerfile:1
# The one image of Talaria: controller, node agent and software switch are
# subcommands (`talaria controller|nodeagent|softswitch`, see charts/talaria).
# The runtime stage is the file set scripts/runtime-fileset.sh builds, the
# same one the testbed runs Talaria from: production code only, the eBPF
# objects compiled here (never at run time), the P4Runtime protos and P4Info,
# and the production dependencies.

FROM node:24-bookworm AS build
# clang compiles the eBPF programs; libbpf-dev has bpf_helpers.h.
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang llvm libbpf-dev make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
# The commit `talaria version` and talaria_build_info report (no .git here).
ARG TALARIA_GIT_COMMIT=unknown
RUN make -s -C bpf \
 && TALARIA_GIT_COMMIT=$TALARIA_GIT_COMMIT ./scripts/runtime-fileset.sh /runtime

FROM node:24-bookworm-slim
# libbpf1: the node agent and software switch load programs through it (koffi
# FFI); iproute2: the agent finds pod veths and the uplink with `ip -j`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libbpf1 iproute2 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /runtime /app
WORKDIR /app
ENV NODE_ENV=production NODE_OPTIONS=--enable-source-maps
RUN ln -s /app/dist/cli/main.js /usr/local/bin/talaria
# The controller needs no privilege; the chart runs the node agent and the
# software switch as root with the capabilities they need.
USER 65532:65532
ENTRYPOINT ["talaria"]
CMD ["--help"]
