#!/bin/sh
# Installs the prebuilt hfdl binary, its man pages and shell completions.
#
#   curl -fsSL https://raw.githubusercontent.com/hfdl/hfdl/main/install.sh | sh
#   curl -fsSL https://raw.githubusercontent.com/hfdl/hfdl/main/install.sh | sh -s -- --prefix /usr/local
#   sh install.sh --uninstall
#
# `sh install.sh --help` lists the options. POSIX sh only (it runs under dash, busybox and macOS's
# sh), checked with shellcheck by scripts/deploy-test.
#
# The order of the work is what makes a failure harmless: everything is downloaded and its
# sha256 verified in a temporary directory first; then every file is copied next to its
# destination under a temporary name; only when all copies succeeded are they renamed into place
# (a rename within a directory is atomic). Any failure before that point removes the temporary
# files and the directories this run created, so the prefix is left as it was.
#
# Everything lives in functions called from the last line, so a download cut short by the network
# never runs half a script.

set -eu

REPO_URL=https://github.com/hfdl/hfdl
CARGO_HINT='install from source instead: cargo install --locked hfdl'
# Relative to the prefix; `--uninstall` reads it.
MANIFEST=share/hfdl/install-manifest

usage() {
  cat <<'EOF'
Install hfdl (prebuilt binary, man pages, bash/zsh/fish completions).

Usage: sh install.sh [--prefix DIR] [--version V] [--uninstall] [--help]
       curl -fsSL https://raw.githubusercontent.com/hfdl/hfdl/main/install.sh | sh -s -- [OPTIONS]

Options:
  --prefix DIR   Install into DIR/bin, DIR/share/man/man1, DIR/share/... [default: $HOME/.local]
  --version V    Install version V (0.1.0 or v0.1.0) [default: the latest release]
  --uninstall    Remove exactly the files a previous install into the prefix wrote
                 (listed in DIR/share/hfdl/install-manifest)
  -h, --help     Print this help

Environment:
  HFDL_INSTALL_BASE_URL  Where to download from instead of GitHub Releases: an http(s):// or
                         file:// URL, or a local directory, laid out like `scripts/dist`'s output
                         (BASE/latest, BASE/hfdl-V-TARGET.tar.gz, BASE/hfdl-V-TARGET.tar.gz.sha256)
  HFDL_INSTALL_OS        For testing: pretend `uname -s` printed this
  HFDL_INSTALL_ARCH      For testing: pretend `uname -m` printed this

Prebuilt binaries exist for Linux (glibc) and macOS, on x86_64 and aarch64. Elsewhere:
  cargo install --locked hfdl
EOF
}

say() { printf 'hfdl-install: %s\n' "$*"; }
warn() { printf 'hfdl-install: warning: %s\n' "$*" >&2; }
# One line on stderr, then exit 1; the EXIT trap undoes whatever was staged.
die() {
  printf 'hfdl-install: error: %s\n' "$*" >&2
  exit 1
}
usage_error() {
  printf 'hfdl-install: error: %s\n\n' "$*" >&2
  usage >&2
  exit 2
}

# --- state the EXIT trap needs --------------------------------------------------------------

tmp=''           # the download/unpack directory
staged=''        # temporary files next to their destinations, one per line
created_dirs=''  # directories this run created, one per line (absolute)
committed=0      # 1 once every staged file was renamed into place

cleanup() {
  if [ "$committed" != 1 ]; then
    # Not installed: remove the temporary copies, then the directories this run created,
    # deepest first; rmdir leaves any directory that somehow holds something else.
    printf '%s' "$staged" | while IFS= read -r path; do
      if [ -n "$path" ]; then rm -f "$path" || true; fi
    done
    printf '%s' "$created_dirs" | LC_ALL=C sort -r | while IFS= read -r dir; do
      if [ -n "$dir" ]; then rmdir "$dir" 2>/dev/null || true; fi
    done
  fi
  if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
  return 0
}

# --- helpers ----------------------------------------------------------------------------------

has() { command -v "$1" >/dev/null 2>&1; }

# The Rust target triple of this machine (or of HFDL_INSTALL_OS/ARCH), into $target.
detect_target() {
  os=${HFDL_INSTALL_OS:-}
  arch=${HFDL_INSTALL_ARCH:-}
  if [ -z "$os" ] || [ -z "$arch" ]; then
    has uname || die "uname is required to detect the platform but was not found"
    [ -n "$os" ] || os=$(uname -s)
    [ -n "$arch" ] || arch=$(uname -m)
  fi
  case $os in
    Linux | linux) os_part=unknown-linux-gnu ;;
    Darwin | darwin | macOS | macos) os_part=apple-darwin ;;
    *) die "no prebuilt hfdl for the operating system '$os' (only Linux and macOS); $CARGO_HINT" ;;
  esac
  case $arch in
    x86_64 | amd64 | x64) arch_part=x86_64 ;;
    aarch64 | arm64) arch_part=aarch64 ;;
    *) die "no prebuilt hfdl for the CPU '$arch' on $os (only x86_64 and aarch64); $CARGO_HINT" ;;
  esac
  target=$arch_part-$os_part
}

# fetch URL DEST: 0 on success; otherwise 1 with $fetch_error set, and $fetch_missing=1 when the
# server said the file does not exist (404/410), which callers turn into a specific message.
fetch() {
  fetch_error=''
  fetch_missing=0
  case $1 in
    /*)
      if [ ! -f "$1" ]; then
        fetch_missing=1
        fetch_error='no such file'
        return 1
      fi
      cp "$1" "$2" 2>"$tmp/fetch.err" || {
        fetch_error=$(tail -n 1 "$tmp/fetch.err")
        return 1
      }
      return 0
      ;;
  esac
  fetch_code=''
  if [ "$downloader" = curl ]; then
    # --proto keeps an https download (and its redirects) on https.
    if fetch_code=$(curl --proto "$curl_proto" --fail --silent --show-error --location \
      --retry 3 --connect-timeout 20 -w '%{http_code}' -o "$2" "$1" 2>"$tmp/fetch.err" </dev/null); then
      return 0
    fi
  else
    if wget -q -S -O "$2" "$1" 2>"$tmp/fetch.err" </dev/null; then
      return 0
    fi
    # -S prints the response headers: the last status line is the final answer after redirects.
    fetch_code=$(sed -n 's/^ *HTTP\/[0-9.]* \([0-9][0-9]*\).*/\1/p' "$tmp/fetch.err" | tail -n 1)
  fi
  case $fetch_code in
    404 | 410)
      fetch_missing=1
      fetch_error="HTTP $fetch_code Not Found"
      ;;
    '' | 000) fetch_error=$(tail -n 1 "$tmp/fetch.err") ;;
    *) fetch_error="HTTP $fetch_code" ;;
  esac
  [ -n "$fetch_error" ] || fetch_error="$downloader failed"
  return 1
}

sha256_of() {
  if has sha256sum; then
    sha256_out=$(sha256sum "$1")
  else
    sha256_out=$(shasum -a 256 "$1")
  fi
  printf '%s' "${sha256_out%% *}" | tr 'A-F' 'a-f'
}

# make_dir DIR: mkdir -p that records every directory it creates, so a failed install (and
# `--uninstall` later) removes exactly those.
make_dir() {
  if [ -d "$1" ]; then return 0; fi
  make_dir "$(dirname "$1")" || return 1
  mkdir "$1" 2>/dev/null || [ -d "$1" ] || return 1
  created_dirs="$created_dirs$1
"
}

# A manifest entry is safe when it stays inside the prefix: relative, without `..` or `.`
# components ("./" alone stands for the prefix itself).
safe_entry() {
  case $1 in
    ./) return 0 ;;
    '' | /* | *//*) return 1 ;;
  esac
  case /$1/ in
    */../* | */./*) return 1 ;;
  esac
  return 0
}

# The manifest's name for an absolute path under the prefix.
relative() {
  if [ "$1" = "$prefix" ]; then echo ./; else printf '%s\n' "${1#"$prefix"/}"; fi
}

path_hint() {
  case ":${PATH:-}:" in
    *":$prefix/bin:"*)
      found=$(command -v hfdl 2>/dev/null || true)
      if [ -n "$found" ] && [ "$found" != "$prefix/bin/hfdl" ]; then
        warn "'hfdl' on your PATH is $found, which comes before $prefix/bin; remove it or reorder PATH"
      fi
      ;;
    *)
      say "$prefix/bin is not on your PATH. To add it:"
      # The single quotes are the point: the line must reach the rc file with $PATH unexpanded.
      # shellcheck disable=SC2016
      printf '  sh/bash/zsh: echo '\''export PATH="%s:$PATH"'\'' >> ~/.profile   (or ~/.bashrc, ~/.zshrc), then open a new shell\n' "$prefix/bin"
      printf '  fish:        fish_add_path %s\n' "$prefix/bin"
      ;;
  esac
}

# --- uninstall --------------------------------------------------------------------------------

do_uninstall() {
  manifest=$prefix/$MANIFEST
  [ -f "$manifest" ] || die "no hfdl installed in $prefix (no $manifest); pass the --prefix it was installed with"
  files=''
  dirs=''
  while IFS= read -r entry || [ -n "$entry" ]; do
    case $entry in '' | '#'*) continue ;; esac
    if ! safe_entry "$entry"; then
      warn "skipping manifest entry outside the prefix: $entry"
      continue
    fi
    case $entry in
      */) dirs="$dirs$entry
" ;;
      "$MANIFEST") ;; # removed last, so an interrupted uninstall can be run again
      *) files="$files$entry
" ;;
    esac
  done <"$manifest"
  removed=0
  while IFS= read -r entry; do
    [ -n "$entry" ] || continue
    if [ -e "$prefix/$entry" ] || [ -L "$prefix/$entry" ]; then
      rm -f "$prefix/$entry" || die "cannot remove $prefix/$entry"
      say "removed $prefix/$entry"
      removed=$((removed + 1))
    fi
  done <<EOF
$files
EOF
  rm -f "$manifest" || die "cannot remove $manifest"
  say "removed $manifest"
  # Directories the install created, deepest first; one that holds anything else stays.
  while IFS= read -r entry; do
    [ -n "$entry" ] || continue
    if [ "$entry" = ./ ]; then dir=$prefix; else dir=$prefix/${entry%/}; fi
    [ -d "$dir" ] || continue
    if rmdir "$dir" 2>/dev/null; then
      say "removed $dir/"
    else
      say "kept $dir/ (it holds other files)"
    fi
  done <<EOF
$(printf '%s' "$dirs" | LC_ALL=C sort -r)
EOF
  say "uninstalled hfdl from $prefix ($((removed + 1)) files)"
  found=$(command -v hfdl 2>/dev/null || true)
  if [ -n "$found" ]; then warn "another hfdl is still on your PATH: $found"; fi
}

# --- install ----------------------------------------------------------------------------------

do_install() {
  detect_target

  # Tools, all checked before anything is downloaded.
  case $base in
    /*) downloader=none ;;
    *)
      if has curl; then
        downloader=curl
      elif has wget; then
        downloader=wget
      else
        die "curl or wget is required to download hfdl but neither was found (e.g. apt-get install curl)"
      fi
      ;;
  esac
  curl_proto='=https'
  case $base in http://*) curl_proto='=http,https' ;; esac
  has tar || die "tar is required to unpack hfdl but was not found (e.g. apt-get install tar)"
  has sha256sum || has shasum || die "sha256sum or shasum is required to verify the download but neither was found (e.g. apt-get install coreutils)"
  has mktemp || die "mktemp is required but was not found (e.g. apt-get install coreutils)"

  # Fail on an unwritable prefix now rather than after a download.
  probe=$prefix
  while [ ! -e "$probe" ] && [ ! -L "$probe" ]; do probe=$(dirname "$probe"); done
  if [ ! -d "$probe" ] || [ ! -w "$probe" ]; then
    die "cannot write to $probe; pick another --prefix, or run as a user who can (e.g. sudo sh install.sh --prefix /usr/local)"
  fi

  tmp=$(mktemp -d 2>/dev/null || mktemp -d -t hfdl-install) ||
    die "cannot create a temporary directory; set TMPDIR to a writable directory"

  if [ -z "$version" ]; then
    if [ -n "$base_is_default" ]; then latest_url=$REPO_URL/releases/latest/download/latest; else latest_url=$base/latest; fi
    fetch "$latest_url" "$tmp/latest" ||
      die "cannot find the latest hfdl version at $latest_url ($fetch_error); pass --version V (see $REPO_URL/releases)"
    # First word of the file: tolerates a trailing newline, CR or a leading v.
    read -r version _ <"$tmp/latest" || [ -n "${version:-}" ] || die "$latest_url is empty"
    version=${version#v}
    version=$(printf '%s' "$version" | tr -d '\r')
    case $version in
      '' | *[!0-9A-Za-z.+-]*) die "$latest_url does not hold a version (got '$version'); pass --version V" ;;
    esac
  fi

  if [ -n "$base_is_default" ]; then assets=$REPO_URL/releases/download/v$version; else assets=$base; fi
  name=hfdl-$version-$target
  tarball=$name.tar.gz
  say "installing hfdl $version ($target) into $prefix"

  # The checksum first: it is small, and a 404 on it already tells that this build does not exist.
  for file in "$tarball.sha256" "$tarball"; do
    case $file in
      *.sha256) ;;
      *) case $assets in /*) say "copying $assets/$file" ;; *) say "downloading $assets/$file" ;; esac ;;
    esac
    if ! fetch "$assets/$file" "$tmp/$file"; then
      if [ "$fetch_missing" = 1 ]; then
        die "no hfdl $version build for $target at $assets/$file ($fetch_error); check that version $version exists ($REPO_URL/releases), or $CARGO_HINT"
      fi
      die "cannot download $assets/$file: $fetch_error"
    fi
  done

  # Verify before unpacking anything. sha256sum format: `<hex>  <name>` (or `<hex> *<name>`).
  expected='' sum_name=''
  read -r expected sum_name <"$tmp/$tarball.sha256" || [ -n "$expected" ] ||
    die "$assets/$tarball.sha256 is empty"
  expected=$(printf '%s' "$expected" | tr 'A-F' 'a-f')
  sum_name=$(printf '%s' "${sum_name#\*}" | tr -d '\r')
  case $expected in *[!0-9a-f]* | '') die "$assets/$tarball.sha256 does not hold a sha256 (got '$expected')" ;; esac
  [ ${#expected} -eq 64 ] || die "$assets/$tarball.sha256 does not hold a sha256 (got '$expected')"
  # Only the file name counts: `sha256sum dist/x.tar.gz` writes the directory too.
  if [ -n "$sum_name" ] && [ "${sum_name##*/}" != "$tarball" ]; then
    die "$assets/$tarball.sha256 is the checksum of '$sum_name', not of $tarball"
  fi
  actual=$(sha256_of "$tmp/$tarball")
  if [ "$actual" != "$expected" ]; then
    die "checksum mismatch for $tarball: expected $expected, got $actual; the download is corrupt or was tampered with, nothing was installed (try again; if it persists, report it at $REPO_URL/issues)"
  fi
  say "verified sha256 $actual"

  mkdir "$tmp/unpack"
  tar -xzf "$tmp/$tarball" -C "$tmp/unpack" 2>"$tmp/tar.err" </dev/null ||
    die "cannot unpack $tarball: $(tail -n 1 "$tmp/tar.err") (is gzip installed?)"
  src=$tmp/unpack/$name
  [ -f "$src/hfdl" ] || die "$tarball has no $name/hfdl; the archive is not an hfdl release"
  chmod 755 "$src/hfdl"
  # Refuse a binary that cannot run here (a musl system, an old glibc, a wrong CPU) before
  # touching the prefix.
  if ! check=$("$src/hfdl" --version 2>&1 </dev/null); then
    die "the downloaded hfdl does not run on this machine ($(printf '%s' "$check" | head -n 1)); $CARGO_HINT"
  fi

  # What goes where: mode, path in the archive, path under the prefix.
  plan="755 hfdl bin/hfdl"
  for page in "$src"/man/man1/*.1; do
    [ -f "$page" ] || continue
    page=${page##*/}
    plan="$plan
644 man/man1/$page share/man/man1/$page"
  done
  case $plan in *man1*) ;; *) warn "$tarball has no man pages" ;; esac
  for pair in hfdl.bash:share/bash-completion/completions/hfdl \
    _hfdl:share/zsh/site-functions/_hfdl \
    hfdl.fish:share/fish/vendor_completions.d/hfdl.fish; do
    if [ -f "$src/completions/${pair%%:*}" ]; then
      plan="$plan
644 completions/${pair%%:*} ${pair#*:}"
    else
      warn "$tarball has no completions/${pair%%:*}; skipped"
    fi
  done

  # Stage: copy each file next to its destination under a temporary name.
  umask 022
  make_dir "$prefix" || die "cannot create $prefix"
  installed=''
  while read -r perm from to; do
    [ -n "$to" ] || continue
    dest=$prefix/$to
    dir=$(dirname "$dest")
    make_dir "$dir" || die "cannot create $dir"
    part=$dir/.${dest##*/}.hfdl-install.$$
    staged="$staged$part
"
    cp "$src/$from" "$part" 2>"$tmp/cp.err" || die "cannot write $part: $(tail -n 1 "$tmp/cp.err")"
    chmod "$perm" "$part" || die "cannot chmod $part"
    installed="$installed$to
"
  done <<EOF
$plan
EOF

  # The manifest: the files of this install, and the directories this install or an earlier one
  # created (so upgrading keeps the right to remove them). Files an earlier version installed
  # that this one no longer ships are removed after the commit.
  old_manifest=$prefix/$MANIFEST
  old_files=''
  old_dirs=''
  if [ -f "$old_manifest" ]; then
    while IFS= read -r entry || [ -n "$entry" ]; do
      case $entry in '' | '#'*) continue ;; esac
      safe_entry "$entry" || continue
      case $entry in
        */) old_dirs="$old_dirs$entry
" ;;
        *) old_files="$old_files$entry
" ;;
      esac
    done <"$old_manifest"
  fi
  make_dir "$(dirname "$old_manifest")" || die "cannot create $(dirname "$old_manifest")"
  new_dirs=$(printf '%s' "$created_dirs" | while IFS= read -r dir; do relative "$dir" | sed 's:/*$:/:'; done)
  {
    echo "# hfdl $version ($target), installed by install.sh. \`sh install.sh --uninstall --prefix $prefix\`"
    echo "# removes these files (relative to the prefix), then the directories (ending in /) the"
    echo "# installer created, when they are empty."
    printf '%s' "$installed"
    echo "$MANIFEST"
    printf '%s\n%s' "$old_dirs" "$new_dirs" | sed '/^$/d' | LC_ALL=C sort -u
  } >"$tmp/manifest" || die "cannot write the install manifest"
  part=$(dirname "$old_manifest")/.install-manifest.hfdl-install.$$
  staged="$staged$part
"
  cp "$tmp/manifest" "$part" || die "cannot write $part"
  chmod 644 "$part" || die "cannot chmod $part"

  # Commit: rename everything into place, the manifest last.
  while read -r perm from to; do
    [ -n "$to" ] || continue
    dest=$prefix/$to
    mv -f "$(dirname "$dest")/.${dest##*/}.hfdl-install.$$" "$dest" || die "cannot move $dest into place"
  done <<EOF
$plan
EOF
  mv -f "$part" "$old_manifest" || die "cannot move $old_manifest into place"
  committed=1

  printf '%s' "$old_files" | while IFS= read -r entry; do
    case "
$installed$MANIFEST
" in
      *"
$entry
"*) ;;
      *)
        if [ -f "$prefix/$entry" ]; then
          rm -f "$prefix/$entry" && say "removed $prefix/$entry (no longer part of hfdl)"
        fi
        ;;
    esac
  done

  installed_version=$("$prefix/bin/hfdl" --version 2>&1 </dev/null) ||
    die "installed, but '$prefix/bin/hfdl --version' failed: $installed_version"
  say "installed $(printf '%s' "$installed_version" | head -n 1) at $prefix/bin/hfdl (man pages and bash/zsh/fish completions under $prefix/share)"
  path_hint
}

# --- main -------------------------------------------------------------------------------------

main() {
  prefix=''
  version=''
  mode=install
  while [ $# -gt 0 ]; do
    case $1 in
      --prefix)
        if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "--prefix needs a directory"; fi
        prefix=$2
        shift 2
        ;;
      --prefix=*)
        prefix=${1#--prefix=}
        [ -n "$prefix" ] || usage_error "--prefix needs a directory"
        shift
        ;;
      --version)
        if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "--version needs a version, e.g. 0.1.0"; fi
        version=$2
        shift 2
        ;;
      --version=*)
        version=${1#--version=}
        [ -n "$version" ] || usage_error "--version needs a version, e.g. 0.1.0"
        shift
        ;;
      --uninstall)
        mode=uninstall
        shift
        ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) usage_error "unknown argument '$1'" ;;
    esac
  done
  version=${version#v}
  case $version in
    *[!0-9A-Za-z.+-]*) usage_error "'$version' is not a version (expected e.g. 0.1.0)" ;;
  esac
  if [ "$mode" = uninstall ] && [ -n "$version" ]; then
    usage_error "--uninstall takes no --version"
  fi

  if [ -z "$prefix" ]; then
    [ -n "${HOME:-}" ] || die "HOME is not set; pass --prefix DIR"
    prefix=$HOME/.local
  fi
  # `--prefix=~/x` reaches us with the tilde unexpanded (the shell expands it only at a word's
  # start); expand it the way the user meant.
  # shellcheck disable=SC2088
  case $prefix in "~" | "~/"*) prefix=${HOME:-}${prefix#"~"} ;; esac
  case $prefix in /*) ;; *) prefix=$(pwd)/$prefix ;; esac
  # No trailing slash: the manifest's relative paths and the PATH check compare strings.
  prefix=$(printf '%s' "$prefix" | sed 's:/*$::')
  [ -n "$prefix" ] || die "installing into / is not supported; pass --prefix /usr or /usr/local"

  # The base: a URL, a file:// URL or a local directory (both read with cp).
  base_is_default=''
  base=${HFDL_INSTALL_BASE_URL:-}
  if [ -z "$base" ]; then
    base_is_default=1
    base=$REPO_URL
  else
    case $base in
      file://*) base=${base#file://} ;;
      *://*) ;;
      /*) ;;
      *) base=$(pwd)/$base ;;
    esac
    base=$(printf '%s' "$base" | sed 's:/*$::')
  fi

  trap cleanup EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM

  if [ "$mode" = uninstall ]; then do_uninstall; else do_install; fi
}

main "$@"
