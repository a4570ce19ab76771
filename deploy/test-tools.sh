#!/usr/bin/env bash
# Make sure the system tools listed in deploy/test-packages.txt are installed.
# As root with apt-get: install what is missing (apt-get update first, only when needed).
# Otherwise: say exactly what to install; with CI=true that is an error, without it the tests
# that need a missing tool skip with the reason.
set -euo pipefail
list="${1:-$(dirname "$0")/test-packages.txt}"

found() {
  case "$1" in
    /*) [ -x "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] ;;
  esac
}

missing_packages() {
  local tool package
  while read -r tool package _; do
    case "$tool" in '' | '#'*) continue ;; esac
    found "$tool" || echo "$package"
  done <"$list" | sort -u | paste -sd ' ' -
}

missing=$(missing_packages)
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "make: installing the system packages the tests drive: $missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
  missing=$(missing_packages)
  [ -z "$missing" ] && exit 0
  echo "make: still missing after apt-get install: $missing" >&2
  exit 1
fi

echo "make: the tests drive system tools that are not installed: $missing" >&2
echo "      install them, e.g.: sudo apt-get install --no-install-recommends $missing" >&2
echo "      (or run make test as root, which installs them)" >&2
if [ "${CI:-}" = true ]; then
  echo "make: CI=true runs every test, so these are required" >&2
  exit 1
fi
echo "      until then the tests that need them are skipped, each with its reason" >&2
