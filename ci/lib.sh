# shellcheck shell=bash
# ci/lib.sh: helpers for the ci/ scripts, sourced, never run. Installers check first and
# install only what is missing, so running them again is cheap and changes nothing.

# Tools installed with `cargo install` live in Cargo's bin folder, which a fresh shell may not
# have on its PATH yet.
ci_cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in
  *":$ci_cargo_bin:"*) ;;
  *) export PATH="$ci_cargo_bin:$PATH" ;;
esac

# CI_TMP: a scratch folder for this run (logs, stamps), removed when the sourcing script exits.
# Checks run in subshells, so state they must share (like "apt-get update already ran") lives
# in files here, not in shell variables.
if [ -z "${CI_TMP:-}" ]; then
  CI_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ci.XXXXXX")
  export CI_TMP
  trap 'rm -rf "$CI_TMP"' EXIT
fi

# ci_timeout DURATION CMD...: run CMD, stopping it and everything it started after DURATION
# (exit status 124). DURATION is a number of seconds, or minutes with `m` (20m). At a terminal,
# CMD stays in the foreground so that Ctrl-C reaches it (then only CMD itself is stopped at the
# deadline, not its children). GNU `timeout` does it where there is one (Linux; on macOS,
# Homebrew's coreutils install it as `gtimeout`); elsewhere, _ci_timeout_plain.
ci_timeout() {
  local timeout
  timeout=$(command -v timeout || command -v gtimeout || true)
  if [ -z "$timeout" ] || ! "$timeout" --version >/dev/null 2>&1; then
    _ci_timeout_plain "$@"
  elif [ -t 0 ]; then
    "$timeout" --foreground "$@"
  else
    "$timeout" "$@"
  fi
}

# _ci_timeout_plain DURATION CMD...: ci_timeout in plain bash, for a system without GNU
# timeout (stock macOS): CMD runs in the background (`<&0` keeps its standard input, which
# bash would otherwise replace with /dev/null), and a watcher sends it SIGTERM at the
# deadline (CMD only: cargo then stops what it started).
_ci_timeout_plain() {
  local seconds=$1 pid watcher rc=0
  shift
  case $seconds in
    *m) seconds=$((${seconds%m} * 60)) ;;
    *s) seconds=${seconds%s} ;;
  esac
  "$@" <&0 &
  pid=$!
  (
    sleep "$seconds" &
    trap 'kill $! 2>/dev/null; exit 0' TERM
    wait $!
    kill -TERM "$pid" 2>/dev/null && echo "ci_timeout: stopped after $seconds s: $*" >&2
  ) &
  watcher=$!
  wait "$pid" || rc=$?
  if kill -0 "$watcher" 2>/dev/null; then
    kill -TERM "$watcher" 2>/dev/null || true
    wait "$watcher" 2>/dev/null || true
  else
    rc=124
  fi
  return "$rc"
}

# CI_EXE: the suffix of the programs cargo builds: `.exe` on Windows (Git Bash, MSYS2).
case "$(uname -s)" in
  MINGW* | MSYS* | CYGWIN*) CI_EXE=.exe ;;
  *) CI_EXE= ;;
esac

# raise_open_file_limit: lift this shell's soft limit on open files to the hard limit, for
# everything it runs. Where the hard limit is "unlimited" (macOS), which `ulimit -n` refuses,
# to the system's per-process maximum. Prints the limit in force. The tests that need many
# descriptors raise their own limit too; this is for the other programs.
raise_open_file_limit() {
  local hard
  hard=$(ulimit -Hn)
  if [ "$hard" = unlimited ]; then
    hard=$(sysctl -n kern.maxfilesperproc 2>/dev/null || echo 10240)
  fi
  ulimit -n "$hard" 2>/dev/null || ulimit -n 10240 2>/dev/null || true
  echo "open files: at most $(ulimit -n) (hard limit: $(ulimit -Hn))"
}

# The mdBook version the book is written for. The book's build must not change under it.
CI_MDBOOK_VERSION=0.5.4

# ensure_rust_tools: make `cargo fmt` and `cargo clippy` work (rustup's minimal profile has
# neither), adding the components to the active toolchain if they are missing.
ensure_rust_tools() {
  cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
  cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
  echo "$(cargo --version); $(cargo fmt --version); $(cargo clippy --version)"
}

# ensure_mdbook: make `mdbook` on PATH exactly v$CI_MDBOOK_VERSION, installing it with cargo if not.
ensure_mdbook() {
  local want="mdbook v$CI_MDBOOK_VERSION" have
  have=$(mdbook --version 2>/dev/null || true)
  if [ "$have" = "$want" ]; then
    echo "$want: already installed"
    return 0
  fi
  echo "installing $want (found: ${have:-none}); this takes a few minutes, once"
  cargo install mdbook --version "$CI_MDBOOK_VERSION" --locked
  hash -r
  have=$(mdbook --version 2>/dev/null || true)
  if [ "$have" != "$want" ]; then
    echo "error: after installing, \`mdbook --version\` says '${have:-nothing}', not '$want';" \
      "is another mdbook earlier on PATH than $ci_cargo_bin? ($(command -v mdbook || echo none))" >&2
    return 1
  fi
}

# _ci_root CMD...: run CMD as root, through sudo when not root.
_ci_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "error: installing needs root, and there is no sudo; run as root: $*" >&2
    return 1
  fi
}

# ensure_apt_package PKG [CMD]: make command CMD (default: PKG) available, installing Debian
# package PKG with apt-get if it is missing. `apt-get update` runs once, before the first install.
ensure_apt_package() {
  local pkg=$1 cmd=${2:-$1}
  if command -v "$cmd" >/dev/null 2>&1; then
    echo "$cmd: already installed"
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: '$cmd' is missing and there is no apt-get here; install the package that" \
      "provides it (Debian/Ubuntu: $pkg; macOS: brew install $pkg), then run again" >&2
    return 1
  fi
  echo "installing $pkg (for '$cmd') with apt-get"
  if [ ! -e "$CI_TMP/apt-updated" ]; then
    _ci_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    touch "$CI_TMP/apt-updated"
  fi
  _ci_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg"
  hash -r
  if ! command -v "$cmd" >/dev/null 2>&1; then
    echo "error: installed $pkg but there is still no '$cmd' on PATH" >&2
    return 1
  fi
}

# ensure_miri: make `cargo +nightly miri` work, adding the nightly toolchain's miri and
# rust-src components if it does not.
ensure_miri() {
  if cargo +nightly miri --version >/dev/null 2>&1; then
    echo "miri: already installed ($(cargo +nightly miri --version))"
    return 0
  fi
  echo "installing miri and rust-src for the nightly toolchain"
  if rustup toolchain list | grep -q '^nightly'; then
    rustup component add miri rust-src --toolchain nightly
  else
    rustup toolchain install nightly --profile minimal --component miri,rust-src
  fi
  cargo +nightly miri --version
}

# ensure_rust_target TARGET: add TARGET's standard library to the active toolchain, if it is
# missing, so that `cargo clippy --target TARGET` (or a build) works.
ensure_rust_target() {
  if rustup target list --installed | grep -qx "$1"; then
    echo "rust target $1: already installed"
    return 0
  fi
  echo "installing the rust target $1"
  rustup target add "$1"
}

# start_server WORKDIR PATTERN CMD [ARGS...]: runs CMD in the background (its output into
# WORKDIR/server.log) and waits up to 10 s for a line matching grep -o PATTERN. Sets
# SERVER_FOUND to what matched (the address the server bound) and SERVER_PID; stop_server
# stops it. Call it directly, not in $(...): a subshell would keep both variables to itself.
# Fails, showing the server's output, if the line never comes.
start_server() {
  local work=$1 pattern=$2 found=
  shift 2
  "$@" >"$work/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    found=$(grep -o "$pattern" "$work/server.log" | head -n 1 || true)
    [ -n "$found" ] && break
    sleep 0.1
  done
  if [ -z "$found" ]; then
    echo "error: $* did not print its address within 10 s; its output:" >&2
    cat "$work/server.log" >&2
    return 1
  fi
  SERVER_FOUND=$found
}

# stop_server WORKDIR: stops the server start_server started, if it is still running; fails,
# showing its output, if it had exited on its own (a server must run until stopped).
stop_server() {
  local work=$1 rc=0
  [ -n "${SERVER_PID:-}" ] || return 0
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "error: the server exited on its own; its output:" >&2
    cat "$work/server.log" >&2
    rc=1
  fi
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  return "$rc"
}

# A full run of ci/test builds the workspace several ways: for this machine, for Windows,
# under Miri, loom and ThreadSanitizer, and the workshop's attempts. With cargo's defaults
# (incremental caches, full debug info) that took 13 GB, more than a CI machine had free. So
# the checks build without incremental caches (which help only the next edit, not this run)
# and with line tables only (a panic's backtrace still names file and line).
use_little_disk() {
  export CARGO_INCREMENTAL=0 CARGO_PROFILE_DEV_DEBUG=line-tables-only
}

# free_gib: how many GiB the filesystem of the current folder has free.
free_gib() {
  df -Pk . | awk 'NR == 2 { print int($4 / 1048576) }'
}

# drop_targets DIR...: remove target folders that only one check uses (target/tsan, say), once
# it is done with them, when disk is short: in CI (CI set, as GitHub and .ci/run set it) or
# with under 20 GiB free. On a roomy machine they stay, so the next ci/test is faster.
drop_targets() {
  if [ -z "${CI:-}" ] && [ "$(free_gib)" -ge 20 ]; then
    return 0
  fi
  local dir
  for dir in "$@"; do
    if [ -e "$dir" ]; then
      echo "removing $dir ($(du -sh "$dir" | cut -f1)), which no later check uses: $(free_gib) GiB free before"
      rm -rf "$dir"
    fi
  done
}
