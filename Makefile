# The two commands of the README, and the pieces they are made of.
.PHONY: setup build demo test lint clean

setup:
	./scripts/setup.sh

build:
	npm run --silent build
	$(MAKE) -s -C bpf
	./scripts/runtime-fileset.sh >/dev/null

lint:
	npx eslint .

# The main job.
demo: setup
	./scripts/demo.sh

# Everything CI runs: the unit and kernel tests (with the P4 toolchain, as in
# CI, they include the packet cases and the controller on BMv2), the
# end-to-end suite on the testbed in every mode (talaria, iptables, nftables),
# the faults suite in every mode (its table of figures is in the log), and
# with the P4 toolchain the suite again on talaria.p4 in BMv2.
test: setup lint
	npm test
	node --enable-source-maps dist/cli/main.js e2e
	node --enable-source-maps dist/cli/main.js e2e --faults
	@if [ -n "$$TALARIA_P4TOOLS" ] || command -v simple_switch_grpc >/dev/null; then \
		node --enable-source-maps dist/cli/main.js e2e --mode talaria --switch bmv2; \
	else \
		echo "e2e on BMv2 did not run: the P4 toolchain is not installed (set TALARIA_P4TOOLS; scripts/p4tools.sh unpacks it)"; \
	fi

clean:
	rm -rf dist build
