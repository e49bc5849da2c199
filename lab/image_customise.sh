#!/bin/sh
# Run by the lab engine inside a freshly debootstrapped image (chroot), once per image build.
# Environment: RELEASE (trixie|bookworm), MIRROR, SECURITY_MIRROR, PROXY (apt proxy URL),
# ADMIN (the account Ansible connects as). Any change to this file changes the image recipe,
# so the next `python -m lab up` builds a new image.
set -eu

cat > /etc/apt/sources.list.d/debian.sources <<SOURCES
Types: deb
URIs: ${MIRROR}
Suites: ${RELEASE} ${RELEASE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${SECURITY_MIRROR}
Suites: ${RELEASE}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
rm -f /etc/apt/sources.list

# Lab hosts have no route out: apt goes through the package proxy on the lab machine.
printf 'Acquire::http::Proxy "%s";\n' "${PROXY}" > /etc/apt/apt.conf.d/01twlab-proxy

# Lab hosts are disposable (a crash of the machine ends the lab anyway): dpkg skips its fsync
# after every unpacked file, which halves the time of a large install (the desktop's packages:
# 47 s -> 26 s on the build machines). Real hosts keep dpkg's default.
printf '# lab only: the host is disposable\nforce-unsafe-io\n' > /etc/dpkg/dpkg.cfg.d/twlab-unsafe-io

# Lab hosts are never read by people: dpkg leaves out manual pages and documentation (copyright
# files stay), and man-db stops rebuilding its index after every install. Both were a sixth of
# the desktop's package install (41 s -> 35 s on the build machine). Real hosts keep them.
cat > /etc/dpkg/dpkg.cfg.d/twlab-nodoc <<'NODOC'
# lab only: no one reads documentation on a lab host
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
NODOC
echo 'man-db man-db/auto-update boolean false' | debconf-set-selections

# The image carries every security and stable update of the day it is built, as a cloud image
# of that day does: a host made from it has none pending, so the first converge does not spend
# a minute per host in unattended-upgrade (ten hosts at once in the lab site). The baseline
# scenario brings a security update of its own to prove that path (molecule/baseline/prepare.yml).
# The image is rebuilt when this recipe changes (`python -m lab image list` names the current
# one; delete it under <home>/images/ to take a later day's updates, or let the role apply them).
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confold dist-upgrade

# The administrative account Ansible connects as (key only, passwordless sudo), as on a
# cloud image. Its key is written when a host is created.
useradd --create-home --shell /bin/bash --groups sudo "${ADMIN}"
passwd --lock "${ADMIN}" >/dev/null
printf '%s ALL=(ALL) NOPASSWD: ALL\n' "${ADMIN}" > /etc/sudoers.d/90-lab-admin
chmod 0440 /etc/sudoers.d/90-lab-admin
install -d -m 0700 -o "${ADMIN}" -g "${ADMIN}" "/home/${ADMIN}/.ssh"

# Per-host identity (SSH host key, machine id) is written when a host is created.
rm -f /etc/ssh/ssh_host_*
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
printf '# the lab has no resolver: hosts use addresses, apt uses the proxy\n' > /etc/resolv.conf

# Like a cloud image: no package lists yet. The lists directory is dated 1970 so that
# `apt: cache_valid_time=...` sees the cache as stale and updates it on first use.
apt-get clean
rm -rf /var/lib/apt/lists/*
touch -d @0 /var/lib/apt/lists
