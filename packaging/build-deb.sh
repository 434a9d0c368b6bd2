#!/usr/bin/env bash
# Build the Debian package target/debian/duet_<version>-1_<arch>.deb (docs/operations.md,
# "Installing"): a release build of duet, its manual pages and shell completions generated
# from the clap definitions (`duet generate`), then cargo-deb with the metadata in Cargo.toml.
# Installs cargo-deb (crates.io) when it is missing. Also writes the debug symbols package
# target/debian/duet-dbgsym_<version>-1_<arch>.ddeb.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo deb --version >/dev/null 2>&1; then
    echo "== installing cargo-deb"
    cargo install cargo-deb --locked
fi

target_dir=${CARGO_TARGET_DIR:-target}
echo "== release build"
cargo build --release --locked --bin duet
duet="$target_dir/release/duet"

generated="$target_dir/release/generated"
rm -rf "$generated"
mkdir -p "$generated/man" "$generated/completions"
"$duet" generate man "$generated/man"
# Debian policy: manual pages compressed, reproducibly (no name or time stamp).
gzip -9n "$generated"/man/*.1
"$duet" generate completions bash >"$generated/completions/duet.bash"
"$duet" generate completions zsh >"$generated/completions/_duet"
"$duet" generate completions fish >"$generated/completions/duet.fish"

echo "== cargo deb"
# [profile.release] keeps debug info (benches, backtraces): --dbgsym strips it from the binary
# in the package (100 MB -> a few MB) into duet-dbgsym_*.ddeb beside it (GNU objcopy).
cargo deb --no-build --locked --dbgsym "$@"
