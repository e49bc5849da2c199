# Two commands do everything on a fresh Debian 12 or 13 machine, as root:
#   make lab    install what is needed, boot the local lab site and converge it
#   make test   install what is needed, run every test tier (static, unit, Molecule, lab)
# Both are safe to run again. `make help` lists the rest.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export ANSIBLE_CONFIG := $(CURDIR)/ansible/ansible.cfg
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0
export NO_COLOR := 1
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Molecule scenarios and the distributions they run on (override: make molecule SCENARIOS=baseline DISTROS=debian13)
SCENARIOS ?= $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))
DISTROS ?= debian13 debian12
# Molecule runs going at once (each is its own lab). With 2 beside the site tier and 3 after it, a
# fresh 2-core machine still had 14-16 % of its CPU idle (/proc/stat over the run of d725e30):
# much of a verify step waits on clocks and on hosts, so one run more fills it. With 8 GB of
# memory, set MOLECULE_JOBS=2 MOLECULE_JOBS_ALONE=3.
MOLECULE_JOBS ?= 3
# ...and once the run has the machine to itself (tests/tiers.py creates MOLECULE_ALONE_FLAG when
# the tiers beside the role tier have ended; unset, the matrix keeps MOLECULE_JOBS)
MOLECULE_JOBS_ALONE ?= 4
# Ansible strategy of every run (lab, Molecule, tests): Mitogen's `mitogen_linear` (default, see
# ansible/ansible.cfg) or the plain `linear`; `free`/`mitogen_free` for experiments.
STRATEGIES := mitogen_linear linear mitogen_free free
STRATEGY ?= $(or $(ANSIBLE_STRATEGY),mitogen_linear)
ifeq ($(filter $(STRATEGY),$(STRATEGIES)),)
$(error STRATEGY=$(STRATEGY) is not a strategy this project supports; use one of: $(STRATEGIES) (mitogen_linear is the default, linear the plain Ansible one))
endif
export ANSIBLE_STRATEGY := $(STRATEGY)
# The role tier proves every role under both strategies in one matrix: Debian 12's scenarios run
# under plain linear, Debian 13's under $(STRATEGY) (empty: all under $(STRATEGY)).
MOLECULE_STRATEGY_BY_DISTRO ?= debian12=linear
# ...while the playbooks the verify step's tests run (bad input, check mode, revocation) go under
# Mitogen everywhere: linear is proven by every role's converge and idempotence on Debian 12, and
# its cost on the tests' many runs doubled those verify steps (empty: each run's own strategy).
MOLECULE_TEST_STRATEGY ?= mitogen_linear
ARTIFACTS ?= $(CURDIR)/artifacts

# Debian packages the controller machine needs (the lab engine and its package proxy).
APT_PACKAGES := debootstrap systemd-container nftables apt-cacher-ng iproute2 openssh-client \
	util-linux python3-venv git make qrencode rsync

.PHONY: help root-check setup python-setup lab lab-up converge staff status down test docs lint unit engine-test molecule lab-test bench-lab bench-lynis bench-log bench-rdp bench-converge bench-file-server bench-chat bench-meeting collection ee-context runner-converge clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

root-check:
	@if [ "$$(id -u)" != 0 ]; then echo "make: the lab needs root (bridges, mounts, namespaces): run 'sudo make $(MAKECMDGOALS)'" >&2; exit 1; fi

$(VENV)/.apt-done: Makefile
	@$(MAKE) --no-print-directory root-check
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "setup: installing Debian packages:" $$missing; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@mkdir -p $(VENV) && touch $@

$(VENV)/.pip-done: requirements.txt
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	@touch $@

setup: $(VENV)/.apt-done $(VENV)/.pip-done ## Install Debian packages and the pinned Python stack into .venv

python-setup: $(VENV)/.pip-done  # the Python stack only (lint and unit tests need no root)

lab: setup lab-up converge ## Boot the local lab site and converge it (safe to run again)
	@$(BIN)/python -m lab status --lab site

lab-up: setup
	$(BIN)/python -m lab up -i inventories/lab > /dev/null

converge: setup
	$(BIN)/ansible-playbook -i inventories/lab ansible/site.yml

staff: setup ## Apply only the staff list to every service that reads it (disable = revoke, one short run)
	$(BIN)/ansible-playbook -i inventories/lab ansible/site.yml --tags staff

status: ## Show every lab host, its zones, addresses and what runs there
	@$(BIN)/python -m lab status

down: ## Stop every lab and remove everything it made on this machine
	$(BIN)/python -m lab down --all

test: setup ## Run every test tier: lint, unit, engine, Molecule (Debian 13 and 12), lab end to end; prints each tier's time
	@# the engine tier with lint and unit beside it (they boot no lab), then the Molecule matrix
	@# beside the lab tier (separate labs; each output is printed when its tier ends), then the
	@# time of every tier.
	$(BIN)/python tests/tiers.py

docs: python-setup ## Regenerate the docs made from the code: role variable tables, defaults comments, docs/controls.md
	$(BIN)/python -m docgen

lint: python-setup ## Static checks: yamllint, ansible-lint (production), ruff, mypy, generated docs up to date
	$(BIN)/python -m docgen --check
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --profile production --offline
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: python-setup ## Unit tests (no root or lab hosts needed)
	$(BIN)/python -m pytest -q tests/unit

engine-test: setup ## The lab engine on this machine: boot, idempotence, repair, teardown, isolation
	$(BIN)/python -m pytest -q tests/engine

molecule: setup ## Molecule scenarios on Debian 13 (Mitogen) and 12 (linear): syntax, converge, idempotence, verify; MOLECULE_JOBS at a time
	$(BIN)/python molecule/matrix.py --jobs $(MOLECULE_JOBS) --scenarios $(SCENARIOS) --distros $(DISTROS) \
		$(addprefix --strategy ,$(MOLECULE_STRATEGY_BY_DISTRO)) \
		$(if $(MOLECULE_TEST_STRATEGY),--test-strategy $(MOLECULE_TEST_STRATEGY)) \
		$(if $(MOLECULE_ALONE_FLAG),--jobs-when-alone $(MOLECULE_JOBS_ALONE) --alone-flag $(MOLECULE_ALONE_FLAG))

lab-test: setup ## Bring up and converge the lab, run the end-to-end tests, always tear it down
	@mkdir -p $(ARTIFACTS)
	@# (no $$(MAKE) on this line: make runs such lines even under `make -n`, trap and tests included)
	@trap '$(BIN)/python -m lab down -i inventories/lab' EXIT; \
	$(BIN)/python -m lab up -i inventories/lab > /dev/null && \
	$(BIN)/ansible-playbook -i inventories/lab ansible/site.yml && \
	$(BIN)/python -m lab status --lab site && \
	$(BIN)/python -m pytest -q tests/lab --junitxml=$(ARTIFACTS)/lab-tests.xml

collection: python-setup ## Build the collection (artifacts/collection/), install it fresh, syntax-check its site playbook
	$(BIN)/python -m collection_release

ee-context: collection ## Render the AWX execution environment's build context (ansible-builder create) into artifacts/ee-context/
	$(BIN)/ansible-builder create -f execution-environment.yml -c $(ARTIFACTS)/ee-context --output-filename Containerfile

runner-converge: python-setup ## Converge the running lab site through ansible-runner, as AWX runs a job (artifacts/runner/)
	$(BIN)/python -m runner_converge --strategy $(STRATEGY)

bench-lab: setup ## Benchmark the lab engine: image build, create-to-SSH, whole site up
	$(BIN)/python benchmarks/lab_engine.py

bench-lynis: setup ## Benchmark: Lynis hardening index, bare host vs baseline (Debian 13 and 12)
	$(BIN)/python benchmarks/lynis.py

bench-log: setup ## Benchmark: log throughput over RELP/TLS with zero loss (boots and removes the log_server hosts)
	MOLECULE_DISTRO=debian13 $(BIN)/molecule converge -s log_server
	$(BIN)/python benchmarks/log_throughput.py; rc=$$?; MOLECULE_DISTRO=debian13 $(BIN)/molecule destroy -s log_server; exit $$rc

bench-converge: setup ## Benchmark: whole-site converge from bare hosts, no-op reruns and a staff run, Mitogen and linear side by side
	$(BIN)/python benchmarks/converge.py

bench-rdp: setup ## Benchmark: RDP login-to-desktop time and memory per session (boots and removes the remote_desktop hosts)
	MOLECULE_DISTRO=debian13 $(BIN)/molecule converge -s remote_desktop
	$(BIN)/python benchmarks/remote_desktop.py; rc=$$?; MOLECULE_DISTRO=debian13 $(BIN)/molecule destroy -s remote_desktop; exit $$rc

bench-chat: setup ## Benchmark: chat logins per second, message latency and server memory per connection with 200 and 2,000 staff (boots and removes the chat_server hosts)
	MOLECULE_DISTRO=debian13 $(BIN)/molecule converge -s chat_server
	$(BIN)/python benchmarks/chat_load.py; rc=$$?; MOLECULE_DISTRO=debian13 $(BIN)/molecule destroy -s chat_server; exit $$rc

bench-meeting: setup ## Benchmark: participants in one meeting room until frames drop, Janus CPU per participant, join time (boots and removes the web_meeting hosts)
	MOLECULE_DISTRO=debian12 $(BIN)/molecule converge -s web_meeting
	$(BIN)/python benchmarks/meeting_load.py; rc=$$?; MOLECULE_DISTRO=debian12 $(BIN)/molecule destroy -s web_meeting; exit $$rc

bench-file-server: setup ## Benchmark: SMB3 encrypted against plain throughput, and disabled-to-disconnected time (boots and removes the file_server hosts)
	MOLECULE_DISTRO=debian13 $(BIN)/molecule converge -s file_server
	$(BIN)/python benchmarks/file_shares.py; rc=$$?; MOLECULE_DISTRO=debian13 $(BIN)/molecule destroy -s file_server; exit $$rc

clean: ## Remove the virtualenv and test artifacts (images and the package cache stay)
	rm -rf $(VENV) $(ARTIFACTS) .pytest_cache .mypy_cache .ruff_cache
