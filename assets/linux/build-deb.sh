#!/usr/bin/env bash
# Builds the Debian package: target/debian/shoplens_<version>-1_<arch>.deb.
#
#   assets/linux/build-deb.sh
#
# Uses cargo-deb (installed into ~/.cargo/bin when missing) and the `dist` profile of
# Cargo.toml (thin LTO, stripped). The package's files and dependencies are listed under
# [package.metadata.deb] in Cargo.toml; the desktop entry, MIME type and icons are beside this
# script. A first build takes as long as any clean release build of shoplens (30-40 minutes on
# two cores); later ones reuse the compiled dependencies.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! cargo deb --version >/dev/null 2>&1; then
    echo "installing cargo-deb (once)"
    cargo install --locked cargo-deb
fi
# The desktop entry is checked where the validator is installed (desktop-file-utils).
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate assets/linux/shoplens.desktop
fi
cargo deb --profile dist "$@"
