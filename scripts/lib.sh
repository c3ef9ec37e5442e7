# Shared set-up for scripts/open and scripts/test: installs what is missing, quietly.
# Idempotent: a second run with everything present prints nothing and changes nothing.

WB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WB_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/wb"

say() { printf 'wb-setup: %s\n' "$*" >&2; }

# Debian packages the build and the kernels need.
WB_APT_PACKAGES=(pkg-config libzmq3-dev libncursesw5-dev libsqlite3-dev libgit2-dev libcurl4-openssl-dev libpng-dev libyaml-dev python3-venv tmux git openssh-server openssh-client)

ensure_apt() {
    local missing=()
    for p in "${WB_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    if ! $sudo apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
        $sudo apt-get update -qq >/dev/null 2>&1 || true
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || {
            say "could not install ${missing[*]}; install them with apt-get and run again"; return 1; }
    fi
}

# A venv for the requirements file $1, under the cache, keyed by the file's hash.
# Prints its path. A venv that was cut off half-made (no marker) is rebuilt.
ensure_venv() {
    local requirements="$1" name="$2"
    local hash
    hash=$(sha256sum "$requirements" | cut -c1-12)
    local venv="$WB_CACHE/$name-$hash"
    if [ ! -f "$venv/.wb-complete" ]; then
        say "creating the Python environment $venv (once; reused while $(basename "$requirements") is unchanged)"
        rm -rf "$venv"
        mkdir -p "$WB_CACHE"
        local python
        python=$(command -v python3)
        "$python" -m venv "$venv" >/dev/null || { say "python3 -m venv failed"; return 1; }
        "$venv/bin/pip" install -q --disable-pip-version-check --no-input -r "$requirements" >&2 || {
            say "pip install -r $requirements failed"; rm -rf "$venv"; return 1; }
        touch "$venv/.wb-complete"
    fi
    printf '%s\n' "$venv"
}

# Builds wb (and wb-app and wb-git beside it) in the given configuration and prints wb's path. Release builds
# link the Swift runtime and Foundation statically, with lld packing the relative
# relocations (DT_RELR, glibc >= 2.36): the loader then touches ~2 MB less of the
# binary at every start, for a faster start and a smaller resident set.
build_wb() {
    local config="$1" flags=()
    [ "$config" = release ] && flags=(-Xswiftc -static-stdlib -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
        -Xlinker -z -Xlinker pack-relative-relocs)
    # wb is a launcher: it execs wb-git (the git commands, which link libgit2) for `wb git` and
    # `wb nbdiff`, and wb-app (everything else) otherwise; both sit next to it.
    local product
    for product in wb wb-app wb-git; do
        (cd "$WB_ROOT" && swift build -c "$config" --product "$product" "${flags[@]}" 2>&1 | grep -E 'error|warning: ' | grep -v "use of \`mktemp'" >&2; exit "${PIPESTATUS[0]}") || {
            say "swift build of $product failed"; return 1; }
    done
    printf '%s\n' "$WB_ROOT/.build/$config/wb"
}
