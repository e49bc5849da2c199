"""The local lab host engine.

Boots the hosts of a site as systemd-nspawn machines on one Linux machine, each in its own
network namespace, with one interface per zone (zones are bridges), so the same Ansible
playbook that configures the real site can be run and tested without a cloud account.
Used by `make lab` (the whole site from `inventories/lab/`) and by the Molecule scenarios.
"""
