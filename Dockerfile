# syntax=docker/dockerfile:1
# The one image of Talaria: controller, node agent and software switch are
# subcommands (`talaria controller|nodeagent|softswitch`, see charts/talaria).
# The runtime layout mirrors the repository, because the code finds its
# assets there: dist/ (compiled TypeScript), build/bpf/ (eBPF objects), and
# p4/ (P4Runtime protos and the P4Info).

FROM node:20-bookworm AS build
# clang compiles the eBPF programs; libbpf-dev has bpf_helpers.h.
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang llvm libbpf-dev make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build \
 && make -C bpf \
 && npm prune --omit=dev

FROM node:20-bookworm-slim
# libbpf1: the node agent and software switch load programs through it (koffi FFI).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libbpf1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production NODE_OPTIONS=--enable-source-maps
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/bpf ./build/bpf
COPY --from=build /src/p4/proto ./p4/proto
COPY --from=build /src/p4/talaria.p4 /src/p4/talaria.p4info.txtpb ./p4/
RUN ln -s /app/dist/cli/main.js /usr/local/bin/talaria
ENTRYPOINT ["talaria"]
CMD ["--help"]
