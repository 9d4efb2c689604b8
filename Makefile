# The two commands of the README: `make demo` and `make test`. Both install any
# missing Debian packages, configure and build (Release, all cores), then run.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
DEMO_CONFIG ?= configs/demo.yaml
SHELL := /bin/bash

.PHONY: all deps configure build demo demo-cv test clean

all: build

deps:
	@bash cmake/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) > $(BUILD).configure.log 2>&1 \
	  || { cat $(BUILD).configure.log; exit 1; }
	@grep -E "^-- cropmap:" $(BUILD).configure.log || true

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@source cmake/mpi-env.sh && bash cmake/demo.sh $(BUILD) $(DEMO_CONFIG)

# The demo, then 3-fold spatial cross-validation of lstm and tempcnn against the
# xgboost baseline (the stages the demo completed are skipped).
demo-cv: build
	@source cmake/mpi-env.sh && bash cmake/demo.sh $(BUILD) $(DEMO_CONFIG) --set cv.enabled=true

test: build
	@source cmake/mpi-env.sh && cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) $(BUILD).configure.log
