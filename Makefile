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

# Everything CI runs: the unit and kernel tests, then the end-to-end suite on
# the testbed in every mode (talaria, iptables, nftables).
test: setup lint
	npm test
	node --enable-source-maps dist/cli/main.js e2e

clean:
	rm -rf dist build
