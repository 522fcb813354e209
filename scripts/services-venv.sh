#!/usr/bin/env bash
# Install the real OpenStack services the placement tests run on loopback
# (Placement, Neutron, Keystone), each into its own virtualenv cached
# outside the repository, at the versions pinned below.
#
#   bash scripts/services-venv.sh [placement|neutron|keystone|all]...
#
# Prints nothing on success. Each venv gets a marker file when it is
# complete; a lock per venv lets parallel test workers wait for one
# install. Exit 3 when PyPI cannot be reached, so the tests that need a
# service can skip with that reason; exit 1 when an install fails.
set -uo pipefail

cache=${NMTOOL_SERVICES_CACHE:-$HOME/.cache/nmtool}
declare -A PINS=(
    [placement]="openstack-placement==16.0.0"
    [neutron]="neutron==29.0.0"
    [keystone]="keystone==30.0.0"
)
declare -A VENVS=(
    [placement]="placement-16.0.0"
    [neutron]="neutron-29.0.0"
    [keystone]="keystone-30.0.0"
)
# A console script that proves the install works.
declare -A PROBES=(
    [placement]="placement-manage"
    [neutron]="neutron-db-manage"
    [keystone]="keystone-manage"
)

install_one() {
    local name=$1
    local venv="$cache/${VENVS[$name]}"
    local marker="$venv/.nmtool-ready"
    [ -f "$marker" ] && return 0
    mkdir -p "$cache"
    exec 9>"$venv.lock"
    flock 9
    if [ -f "$marker" ]; then exec 9>&-; return 0; fi
    local probe_dir
    probe_dir=$(mktemp -d)
    if ! pip download --no-deps -q -d "$probe_dir" "${PINS[$name]}" >/dev/null 2>&1; then
        rm -rf "$probe_dir"
        echo "PyPI cannot be reached: ${PINS[$name]} not installed" >&2
        exec 9>&-
        return 3
    fi
    rm -rf "$probe_dir" "$venv"
    python3 -m venv "$venv" || { exec 9>&-; return 1; }
    if ! "$venv/bin/pip" install -q "${PINS[$name]}" pymysql >"$venv.install.log" 2>&1; then
        echo "installing ${PINS[$name]} failed; see $venv.install.log" >&2
        exec 9>&-
        return 1
    fi
    if ! "$venv/bin/${PROBES[$name]}" --help >/dev/null 2>&1; then
        echo "${PINS[$name]} installed but ${PROBES[$name]} does not run" >&2
        exec 9>&-
        return 1
    fi
    touch "$marker"
    exec 9>&-
    return 0
}

names=("$@")
[ ${#names[@]} -eq 0 ] && names=(placement)
[ "${names[0]}" = all ] && names=(placement neutron keystone)
worst=0
for name in "${names[@]}"; do
    if [ -z "${PINS[$name]:-}" ]; then
        echo "unknown service: $name (placement, neutron, keystone, all)" >&2
        exit 2
    fi
    install_one "$name"
    rc=$?
    if [ $rc -ne 0 ] && { [ $worst -eq 0 ] || [ $rc -eq 1 ]; }; then
        worst=$rc
    fi
done
exit $worst
