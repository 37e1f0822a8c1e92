# orocloud.ops — toolchain, lab and test tiers in one place.
#   make demo   set everything up, bring the lab up, converge it, show what runs
#   make test   everything CI runs: static checks, sanity, unit, build, integration (molecule)
#   make check  the quick loop: static checks and unit tests (no containers)
# Every target installs what it needs on a fresh Debian/Ubuntu machine (as root).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

ROOT        := $(CURDIR)
BUILD       := $(ROOT)/.build
VENV        := $(ROOT)/.venv
BIN         := $(VENV)/bin
COLLECTIONS := $(BUILD)/collections
LINK        := $(COLLECTIONS)/ansible_collections/orocloud/ops
VERSION     := $(shell sed -n 's/^version: *//p' galaxy.yml)

# Podman: the lab's own settings (runc, cgroupfs, ulimits), never the host's files.
export CONTAINERS_CONF := $(ROOT)/lab/containers.conf
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_HOME := $(BUILD)/ansible
export ANSIBLE_LOCAL_TEMP := $(BUILD)/ansible/tmp
export OROCLOUD_LAB_DIR := $(BUILD)/lab
export PATH := $(BIN):$(PATH)
# molecule and ansible-test keep their state under HOME: keep it inside the work tree.
TOOLHOME    := env HOME=$(BUILD)/home

APT_PACKAGES := podman runc netavark aardvark-dns iptables debootstrap apt-cacher-ng \
	openssh-client git curl ca-certificates make
ACNG_PORT    := 3142
# Longest first: the lanes of `make integration` take them in this order (the lab's build and converge
# first: its verify waits for the other lanes).
SCENARIOS    := lab app vpn development load_balancer sshd access_users services
LANES        ?= 2

.PHONY: help setup apt venv collection lab-setup lab-cache lab-image lab-preflight \
	lint sanity targets ansible-test-copy unit build integration test check demo lab-up lab-verify lab-down clean

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

## ---------------------------------------------------------------- toolchain
setup: apt venv collection

apt: $(BUILD)/apt.stamp
$(BUILD)/apt.stamp: Makefile
	@mkdir -p $(BUILD)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@touch $@

venv: $(BUILD)/venv.stamp
$(BUILD)/venv.stamp: requirements.txt
	@mkdir -p $(BUILD)
	@if [ ! -x $(BIN)/python ]; then py=$$(scripts/find-python); echo "creating $(VENV) with $$py"; "$$py" -m venv $(VENV); fi
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	@touch $@

collection: $(LINK)
$(LINK):
	@mkdir -p $(dir $@)
	ln -sfn $(ROOT) $@

## ---------------------------------------------------------------- lab
lab-setup: apt venv collection lab-cache lab-image lab-preflight

# apt-cacher-ng on the host, for the lab nodes and the image build; started only if not listening.
lab-cache: apt
	@if ! (exec 3<>/dev/tcp/127.0.0.1/$(ACNG_PORT)) 2>/dev/null; then \
		install -d -o apt-cacher-ng -g apt-cacher-ng /var/cache/apt-cacher-ng /var/log/apt-cacher-ng /run/apt-cacher-ng; \
		runuser -u apt-cacher-ng -- /usr/sbin/apt-cacher-ng -c $(ROOT)/lab/apt-cache ForeGround=0 \
			pidfile=/run/apt-cacher-ng/pid SocketPath=/run/apt-cacher-ng/socket; \
		for i in $$(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$(ACNG_PORT)) 2>/dev/null && break; sleep 0.1; done; \
		echo "apt cache listening on :$(ACNG_PORT)"; \
	fi

lab-image: apt lab-cache
	@LAB_APT_PROXY=http://127.0.0.1:$(ACNG_PORT) lab/image/build.sh

lab-preflight: apt
	@lab/preflight.sh

## ---------------------------------------------------------------- tests
lint: venv collection
	yamllint --strict .
	ruff check .
	ansible-lint --offline -q
	antsibull-changelog lint

# ansible-test wants the collection at .../ansible_collections/orocloud/ops as a real path: it runs
# on a copy of the tracked (and new, not ignored) files, in a git repository of its own.
# ansible-test lives in a venv of its own; it installs each sanity test's pinned requirements from
# PyPI into per-test venvs, whose pip comes from scripts/get-pip-offline.py (ensurepip) instead of
# a download from outside PyPI.
ATEST_COPY := $(BUILD)/ansible-test/ansible_collections/orocloud/ops
ATEST_VENV := $(BUILD)/ansible-test-venv
ATEST      := cd $(ATEST_COPY) && $(TOOLHOME) PATH=$(ATEST_VENV)/bin:$$PATH $(ATEST_VENV)/bin/ansible-test

$(ATEST_VENV)/bin/ansible-test: requirements.txt | venv
	$(BIN)/python -m venv $(ATEST_VENV)
	$(ATEST_VENV)/bin/python -m pip install -q --upgrade pip
	$(ATEST_VENV)/bin/python -m pip install -q $$(grep '^ansible-core==' requirements.txt)

ansible-test-copy: $(ATEST_VENV)/bin/ansible-test
	@pip=$$($(ATEST_VENV)/bin/python -c 'import ansible_test._internal.python_requirements as r, inspect, re; \
		print(re.search(r"pip=.([0-9.]+).", inspect.getsource(r.get_venv_packages)).group(1))'); \
	install -D -m 0644 scripts/get-pip-offline.py $(BUILD)/home/.ansible/test/cache/get_pip_$${pip//./_}.py
	@rm -rf $(BUILD)/ansible-test && mkdir -p $(ATEST_COPY)
	@git ls-files -z --cached --others --exclude-standard \
		| tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C $(ATEST_COPY)
	@cd $(ATEST_COPY) && git init -q && git add -A

sanity: ansible-test-copy
	$(ATEST) sanity --requirements --python 3.12 --color no

# ansible-test integration targets (tests/integration/targets), run on the controller.
targets: ansible-test-copy
	$(ATEST) integration --local --python 3.12 --color no

unit: venv collection
	pytest -q -p no:cacheprovider tests/unit

# The collection builds and installs into an empty path, and ansible-doc lists its plugins there.
build: venv
	@rm -rf $(BUILD)/dist $(BUILD)/installed && mkdir -p $(BUILD)/dist
	ansible-galaxy collection build --force --output-path $(BUILD)/dist .
	ANSIBLE_COLLECTIONS_PATH=$(BUILD)/installed ansible-galaxy collection install --offline -p $(BUILD)/installed $(BUILD)/dist/orocloud-ops-$(VERSION).tar.gz
	ANSIBLE_COLLECTIONS_PATH=$(BUILD)/installed ansible-doc -l orocloud.ops
	ANSIBLE_COLLECTIONS_PATH=$(BUILD)/installed ansible-doc -t role -l orocloud.ops

# The scenarios run in LANES parallel lanes (scripts/molecule-lanes; LANES=1 runs them one after another);
# the lab is built and converged in a lane too, and verified alone after them (its load and timing tests want
# the machine to themselves).
integration: lab-setup
	@$(TOOLHOME) scripts/molecule-lanes $(LANES) $(patsubst lab,lab:verify-alone,$(SCENARIOS))
	@lab/leftovers.sh

check: lint unit

# Each tier runs timed (scripts/timed); the figures are printed at the end, also when a tier fails.
TIERS := lint unit sanity targets build integration
test:
	@rm -f $(BUILD)/timings.log
	@rc=0; for t in $(TIERS); do scripts/timed $$t $(MAKE) --no-print-directory $$t || { rc=$$?; break; }; done; \
		scripts/timed --report; exit $$rc
	@echo "make test: all tiers passed"

## ---------------------------------------------------------------- demo
demo: lab-up
	@lab/status.sh
	@$(TOOLHOME) ansible-playbook -i inventories/lab/lab.orocloud.yml playbooks/health.yml | sed -n '/TASK \[Show/,/^$$/p'

lab-up: lab-setup
	$(TOOLHOME) molecule create -s lab
	$(TOOLHOME) molecule converge -s lab

lab-verify: lab-setup
	$(TOOLHOME) molecule verify -s lab

lab-down: venv collection
	$(TOOLHOME) molecule destroy -s lab

clean: lab-down
	rm -rf $(BUILD)
