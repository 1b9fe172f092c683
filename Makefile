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

# Everything CI runs.
test: setup lint
	npm test

clean:
	rm -rf dist build
