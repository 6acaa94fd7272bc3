#!/usr/bin/env bash
# The whole test suite, set-up included: installs the test servers and cargo tools it needs
# (redis-server, prometheus + promtool, dnsmasq, moto_server, cargo-deny), then runs fmt,
# clippy, the tests with every feature and with none, docs, and cargo-deny.
#
#   scripts/test.sh            # everything
#   SKIP_INSTALL=1 scripts/test.sh   # assume the servers are installed
set -euo pipefail
cd "$(dirname "$0")/.."

# Keep the build cache outside the clone so repeated runs on one machine stay fast.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/nexus-readiness/target}"
# k8s-openapi needs a Kubernetes version; a library leaves the choice to the application,
# so builds of the library alone (cargo doc) name one here.
export K8S_OPENAPI_ENABLED_VERSION="${K8S_OPENAPI_ENABLED_VERSION:-1.37}"
export RUSTFLAGS="${RUSTFLAGS:-}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Python console scripts (moto_server) live here whatever the Python install.
PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || echo /usr/local/bin):$PATH"
export PATH

step() { printf '\n==> %s\n' "$*"; }

if [ -z "${SKIP_INSTALL:-}" ]; then
  step "installing test servers"
  need=()
  command -v redis-server >/dev/null || need+=(redis-server)
  command -v prometheus >/dev/null || need+=(prometheus)
  command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq)
  command -v gcc >/dev/null || need+=(gcc libc6-dev)   # the C stand-in for libnvidia-ml.so
  if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}"
  fi
  # The Debian packages start system services; the tests start their own on loopback ports.
  for svc in redis-server prometheus dnsmasq; do
    (service "$svc" stop || systemctl stop "$svc") >/dev/null 2>&1 || true
  done
  if ! python3 -c 'import moto.server' 2>/dev/null; then
    python3 -m pip install -q 'moto[server]>=5.0,<5.2'
    command -v pyenv >/dev/null && pyenv rehash || true
  fi
  if ! command -v cargo-deny >/dev/null; then
    cargo install --locked -q cargo-deny
  fi
  if [ -f ../shared/tools/install-advisory-db ]; then
    bash ../shared/tools/install-advisory-db   # offline RustSec snapshot for cargo deny
  fi
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets --all-features"
cargo clippy --all-targets --all-features -- -D warnings

step "cargo test --all-features"
cargo test --all-features --no-fail-fast

step "cargo test --no-default-features"
cargo test --no-default-features

step "cargo doc --all-features --no-deps"
RUSTDOCFLAGS="-D warnings" cargo doc --all-features --no-deps

step "cargo deny"
cargo fetch -q
if [ -d "${CARGO_HOME:-$HOME/.cargo}/advisory-dbs" ]; then
  cargo deny --offline check
else
  cargo deny check bans licenses sources
fi

step "all checks passed"
