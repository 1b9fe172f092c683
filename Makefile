# The two commands of the README, and the pieces they are made of.
.PHONY: setup build demo test lint clean

setup:
	./scripts/setup.sh

build:
	npm run --silent build
	$(MAKE) -s -C bpf

lint:
	npx eslint .

# The main job.
demo: setup
	./scripts/demo.sh

# Everything CI runs: the unit and kernel tests (with the P4 toolchain, as in
# CI, they include the packet cases and the controller on BMv2), then the
# end-to-end suite on the testbed in every mode (talaria, iptables, nftables).
# The suite on BMv2 (`talaria e2e --mode talaria --switch bmv2`) runs by hand:
# its churn case is not yet sized for BMv2's rate (see README).
test: setup lint
	npm test
	node --enable-source-maps dist/cli/main.js e2e

clean:
	rm -rf dist build
