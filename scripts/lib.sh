# shellcheck shell=bash
# Shared helpers for scripts/test, scripts/demo and scripts/bench: install what
# they need when it is missing, and run a moto server on a free loopback port.
# Source it; it sets no shell options of its own.

ROLEPICK_ROOT="${ROLEPICK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

have() { command -v "$1" >/dev/null 2>&1; }

# Run as root, or through sudo when there is one.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif have sudo; then sudo -n "$@"
    else die "need root for: $*"
    fi
}

_apt_updated=""
apt_install() {
    have apt-get || die "apt-get not found; install $* by hand"
    if [ -z "$_apt_updated" ]; then
        log "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
        _apt_updated=1
    fi
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null
}

# Make pip-installed console scripts (pyenv shims, the interpreter's scripts
# dir, ~/.local/bin) visible to this shell.
_python_paths() {
    local d
    for d in "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)" \
             "$(python3 -m site --user-base 2>/dev/null)/bin"; do
        if [ -n "$d" ] && [ -d "$d" ]; then
            case ":$PATH:" in *":$d:"*) ;; *) PATH="$PATH:$d" ;; esac
        fi
    done
    export PATH
    if have pyenv; then pyenv rehash >/dev/null 2>&1 || true; fi
    hash -r
}

ensure_python() {
    if ! have python3; then apt_install python3 python3-pip python3-venv; fi
    if ! python3 -m pip --version >/dev/null 2>&1; then apt_install python3-pip; fi
}

pip_install() {
    ensure_python
    log "pip install $*"
    python3 -m pip install --quiet --no-input --disable-pip-version-check "$@" </dev/null ||
        python3 -m pip install --quiet --no-input --disable-pip-version-check --break-system-packages "$@" </dev/null
    _python_paths
}

ensure_moto() {
    _python_paths
    if ! have moto_server || ! python3 -c 'import boto3, moto' >/dev/null 2>&1; then
        pip_install 'moto[server]' boto3
    fi
    have moto_server || die "moto_server still not on PATH after pip install"
}

ensure_aws() {
    _python_paths
    have aws || pip_install awscli
    have aws || die "aws still not on PATH after pip install"
}

ensure_tmux() { have tmux || apt_install tmux; }
# A real Secret Service for the keyring backend's tests (tests/it/keyring.rs):
# gnome-keyring-daemon on a private dbus-daemon session bus.
# zsh and fish, for the test that asks for a code under each user shell.
# Not fatal here: outside CI that test skips a missing shell; under CI it fails.
ensure_shells() {
    if ! have zsh || ! have fish; then
        ( apt_install zsh fish ) || log "WARNING: could not install zsh/fish; their e2e runs skip (and fail under CI)"
    fi
}
# Not fatal here: outside CI that one test skips; under CI it fails.
ensure_secret_service() {
    if ! have gnome-keyring-daemon || ! have dbus-daemon || ! have dbus-send; then
        ( apt_install gnome-keyring dbus-daemon dbus-bin ) ||
            log "WARNING: could not install gnome-keyring; tests/it/keyring.rs skips (and fails under CI)"
    fi
}

ensure_hyperfine() {
    have hyperfine && return 0
    apt_install hyperfine || cargo install --locked hyperfine
}

ensure_rust_components() {
    have cargo || die "cargo not found: install Rust (rustup) first"
    if ! cargo fmt --version >/dev/null 2>&1; then
        have rustup || die "cargo fmt missing and no rustup to add rustfmt"
        rustup component add rustfmt
    fi
    if ! cargo clippy --version >/dev/null 2>&1; then
        have rustup || die "cargo clippy missing and no rustup to add clippy"
        rustup component add clippy
    fi
}

# cargo-deb, for scripts/package: installed once, then only checked.
ensure_cargo_deb() {
    cargo deb --version >/dev/null 2>&1 && return 0
    log "cargo install --locked cargo-deb"
    cargo install --locked --quiet cargo-deb </dev/null
    cargo deb --version >/dev/null 2>&1 || die "cargo deb still missing after cargo install"
}

# man (man-db), to render the packaged man page.
ensure_man() { have man || apt_install man-db; have man || die "man still missing after apt-get"; }

# start_moto LOGFILE: start moto_server on a loopback port the kernel picks (port 0:
# no race with another program taking a port chosen beforehand), wait until it
# answers; sets MOTO_PID and MOTO_ENDPOINT. Stop it with stop_moto.
start_moto() {
    local logfile="$1" port="" i
    # No AWS_* of the caller reaches moto, and it reads no ~/.aws.
    env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
        -u AWS_SESSION_TOKEN -u AWS_SECURITY_TOKEN \
        AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
        moto_server -H 127.0.0.1 -p 0 >"$logfile" 2>&1 </dev/null &
    MOTO_PID=$!
    for i in $(seq 1 300); do
        if [ -z "$port" ]; then
            port="$(sed -n 's|.*Running on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$logfile" | head -n 1)"
            MOTO_ENDPOINT="http://127.0.0.1:${port:-0}"
        fi
        if [ -n "$port" ] && { curl -fsS -o /dev/null "$MOTO_ENDPOINT/moto-api/" 2>/dev/null ||
           python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
               "$MOTO_ENDPOINT/moto-api/" 2>/dev/null; }; then
            return 0
        fi
        kill -0 "$MOTO_PID" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$logfile" >&2 || true
    die "moto_server did not come up on ${MOTO_ENDPOINT:-an unknown port} (log: $logfile, tried $i times)"
}

stop_moto() {
    if [ -n "${MOTO_PID:-}" ]; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
        MOTO_PID=""
    fi
}

# Unset every AWS_* variable in this shell.
clear_aws_env() {
    local v
    for v in $(compgen -e | grep '^AWS_' || true); do unset "$v"; done
}
