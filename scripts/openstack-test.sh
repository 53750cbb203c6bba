#!/usr/bin/env bash
# Runs the suites under test/openstack/ against the real loopback OpenStack lab
# (Keystone, Glance, Nova API, Cinder API from ../shared/openstack/up.sh).
#
#   scripts/openstack-test.sh [name-filter...]
#
# The lab is started (or found running) with up.sh and its OS_* variables are exported; the first
# run installs its apt packages (about 80 s), later runs take about a second. Settings:
#   OSLAB_UP=path                 another up.sh
#   OPENSTACK_TEST_USE_ENV=1      skip the lab and use the OS_* variables already set. The suites create
#                                 and delete flavors named sr-test-*, images and quota sets there.
# Every other up.sh setting (OSLAB_DIR, OSLAB_HOST, ...) passes through.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

if [ "${OPENSTACK_TEST_USE_ENV:-0}" = "1" ]; then
  if [ -z "${OS_AUTH_URL:-}" ] && [ -z "${OS_CLOUD:-}" ]; then
    echo "openstack-test: OPENSTACK_TEST_USE_ENV=1 but neither OS_AUTH_URL nor OS_CLOUD is set" >&2
    exit 2
  fi
else
  up="${OSLAB_UP:-$repo/../shared/openstack/up.sh}"
  if [ ! -f "$up" ]; then
    echo "openstack-test: no lab script at $up (set OSLAB_UP, or OPENSTACK_TEST_USE_ENV=1 to use your OS_* variables)" >&2
    exit 2
  fi
  echo "openstack-test: starting the OpenStack lab with $up (progress below, first run ~80 s)" >&2
  # The lab's own credentials only: never a cloud the caller happens to have configured.
  unset OS_CLOUD OS_CLIENT_CONFIG_FILE OS_PROJECT_ID OS_USER_ID OS_AUTH_TYPE OS_INTERFACE OS_CACERT
  lab_env="$(bash "$up")"
  # Sites B and C for the three-site reconciler test: the same services on 127.0.0.2 and .3, each
  # with its own databases (their OS_* lines are not needed: the test derives their URLs).
  OSLAB_HOST=127.0.0.2 OSLAB_DIR="${OSLAB_DIR:-/tmp/oslab}-b" bash "$up" >/dev/null
  OSLAB_HOST=127.0.0.3 OSLAB_DIR="${OSLAB_DIR:-/tmp/oslab}-c" bash "$up" >/dev/null
  eval "$lab_env"
fi

npm run -s build
exec node scripts/run-tests.js --openstack "$@"
