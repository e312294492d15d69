# shellcheck shell=bash
# Debian packages Scepter needs to build, test and demo; sourced by
# scripts/test and scripts/demo. Installs only what is missing, so a prepared
# machine never touches the network.

SCEPTER_PACKAGES=(
  build-essential cmake pkg-config
  nginx nginx-dev
  apache2 apache2-dev
  libssl-dev libyaml-cpp-dev libsqlite3-dev libcurl4-openssl-dev
  libpq-dev  # the PostgreSQL store (store.postgresql)
  postgresql  # the integration tests' private PostgreSQL cluster (initdb, pg_ctl)
  zlib1g-dev  # scepter trace reads gzipped audit rotations (audit.log.2.gz)
  dpkg-dev  # dpkg-source: Lua is built from Debian's lua5.4 source package
  libgtest-dev libgmock-dev
  python3 python3-pytest
  python3-cryptography  # hostile CSRs (a NUL in a name) that openssl req cannot make
  scep certmonger
  strongswan-pki libstrongswan-extra-plugins  # strongSwan's pki --scep, a third real client
  chromium  # the mscep_admin page is tested as an admin opens it
  logrotate  # test_157 rotates the audit trail with the shipped example file
  curl openssl
  prometheus  # a real Prometheus scrapes the metrics location (test_180), promtool checks the text
  softhsm2 libengine-pkcs11-openssl opensc  # test_045: the CA key in a PKCS#11 token (SoftHSM2), via OpenSSL's pkcs11 engine; pkcs11-tool makes the keys
)

# scepter_missing_packages PKG...: prints the ones not installed.
scepter_missing_packages() {
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
      echo "$p"
    fi
  done
}

# scepter_install_deps [PKG...]: installs what is missing (default: all of
# SCEPTER_PACKAGES). Needs root when anything is missing.
scepter_install_deps() {
  local wanted=("$@")
  ((${#wanted[@]})) || wanted=("${SCEPTER_PACKAGES[@]}")
  local missing
  mapfile -t missing < <(scepter_missing_packages "${wanted[@]}")
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  echo "==> installing missing packages: ${missing[*]}"
  if [[ $EUID -ne 0 ]]; then
    echo "error: not root; install them first: apt-get install ${missing[*]}" >&2
    return 1
  fi
  scepter_apt_quietly update -q &&
    scepter_apt_quietly install -y -q "${missing[@]}"
}

# scepter_apt_quietly ARGS...: apt-get ARGS without starting daemons: package
# scripts must not start any here (nginx would grab port 80, certmonger wants
# D-Bus), so a policy-rc.d that says "no" is in place while apt runs, only if
# the machine has none of its own.
scepter_apt_quietly() {
  local policy=/usr/sbin/policy-rc.d own_policy=0 rc=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get "$@" || rc=$?
  ((own_policy)) && rm -f "$policy"
  return "$rc"
}
