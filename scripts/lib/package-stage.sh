# shellcheck shell=bash
# scripts/test's package stage, sourced after deps.sh: builds the three
# Debian packages (scripts/build-debs: dpkg-buildpackage, then lintian, which
# fails on any error), installs them with apt-get as an admin would, runs the
# enrollment tests against the installed modules and layout
# (SCEPTER_INSTALLED=1: /usr/bin/scepter, nginx through modules-enabled,
# Apache through a2enmod), purges them, and finally runs test_170's
# install/remove/purge cycle on the same .debs.

SCEPTER_DEB_PACKAGES=(scepter libnginx-mod-http-scepter libapache2-mod-scepter)

# The suite's enrollment tests by real clients, the corporate-CA flows
# (which use the installed scepter for init), and the installed layout.
SCEPTER_INSTALLED_TESTS=(
  test_010_ca_info.py test_020_scepclient.py test_025_strongswan.py
  test_030_certmonger.py test_036_corporate_ca.py test_040_enroll.py
  test_175_installed_layout.py
)

# scepter_package_stage ROOT BUILD_DIR: 0 when every step passed.
scepter_package_stage() {
  local root=$1 build=$2 debs=$2/debs rc=0
  local preinstalled
  mapfile -t preinstalled < <(scepter_missing_packages "${SCEPTER_DEB_PACKAGES[@]}")
  if ((${#preinstalled[@]} != ${#SCEPTER_DEB_PACKAGES[@]})); then
    echo "==> packages: skipped, a scepter package is installed on this machine (not ours to replace)"
    return 0
  fi
  SCEPTER_DEB_DIR=$debs SCEPTER_LUA_SOURCE_DIR=$build/_deps/lua5.4/source \
    "$root/scripts/build-debs" || return 1

  echo "==> packages: apt-get install ./*.deb"
  scepter_apt_quietly install -y -q "$debs"/*.deb || return 1
  echo "==> packages: enrollment tests against the installed modules"
  local tests=("${SCEPTER_INSTALLED_TESTS[@]/#/$root/tests/integration/}")
  SCEPTER_INSTALLED=1 SCEPTER_BUILD_DIR="$build" PYTHONDONTWRITEBYTECODE=1 \
    /usr/bin/python3 -m pytest -q -rfE -p no:cacheprovider "${tests[@]}" || rc=1
  scepter_apt_quietly purge -y -q "${SCEPTER_DEB_PACKAGES[@]}" || rc=1
  rm -rf /var/lib/scepter  # test_170 starts from a machine without it

  echo "==> packages: install, remove, purge (test_170)"
  SCEPTER_DEB_DIR=$debs SCEPTER_BUILD_DIR="$build" PYTHONDONTWRITEBYTECODE=1 \
    /usr/bin/python3 -m pytest -q -rfE -p no:cacheprovider "$root/tests/integration/test_170_packages.py" || rc=1
  return "$rc"
}
