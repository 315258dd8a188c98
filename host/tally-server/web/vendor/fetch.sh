#!/usr/bin/env bash
# Re-creates the pinned browser files beside this script from vendor.lock: downloads each npm
# registry tarball once, checks its sha256, extracts the listed files and checks theirs.
# Precompressed (gzip) forms are re-made from their sources.
# `fetch.sh --check` only verifies the committed files against the lock (no network).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lock="$here/vendor.lock"
check_only=false
[ "${1:-}" = --check ] && check_only=true

sha() { sha256sum "$1" | cut -d' ' -f1; }
fail() { echo "fetch.sh: $*" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

while read -r package version url tarball_sha path dest file_sha; do
    case "$package" in ''|'#'*) continue ;; esac
    [ -n "$file_sha" ] || fail "vendor.lock: short line for $package $version"
    if [ "$package" = gzip ]; then
        # A precompressed form: made from its source (fetched on an earlier line); it must
        # decompress to exactly that file. Another gzip version may compress differently: then
        # the new file is kept and its sum is to be written into the lock.
        source="$here/$url"
        $check_only || gzip -9 -n -c "$source" >"$here/$dest"
        [ -f "$here/$dest" ] || fail "$dest is missing (run fetch.sh)"
        [ "$(gzip -dc "$here/$dest" | sha256sum | cut -d' ' -f1)" = "$(sha "$source")" ] \
            || fail "$dest does not decompress to $url"
        if [ "$(sha "$here/$dest")" != "$file_sha" ]; then
            $check_only && fail "$dest: sha256 $(sha "$here/$dest"), lock says $file_sha"
            echo "fetch.sh: $dest: this gzip made sha256 $(sha "$here/$dest"); put it in vendor.lock" >&2
        fi
        echo "ok $dest (gzip of $url)"
        continue
    fi
    if ! $check_only; then
        tarball="$work/$package-$version.tgz"
        if [ ! -f "$tarball" ]; then
            curl -fsSL --retry 3 -o "$tarball" "$url" || fail "cannot download $url"
            [ "$(sha "$tarball")" = "$tarball_sha" ] \
                || fail "$url: sha256 $(sha "$tarball"), lock says $tarball_sha"
            mkdir -p "$work/$package-$version"
            tar -xzf "$tarball" -C "$work/$package-$version"
        fi
        src="$work/$package-$version/$path"
        [ -f "$src" ] || fail "$url has no $path"
        cp "$src" "$here/$dest"
    fi
    [ -f "$here/$dest" ] || fail "$dest is missing (run fetch.sh)"
    [ "$(sha "$here/$dest")" = "$file_sha" ] \
        || fail "$dest: sha256 $(sha "$here/$dest"), lock says $file_sha"
    echo "ok $dest ($package $version)"
done <"$lock"
