#!/bin/bash
# tests/scripts/install/cargo_target_dir_elsewhere.sh: with CARGO_TARGET_DIR
# elsewhere, install.sh installs the binary cargo built there, not a stale one
# left in the repository's target/ (here a decoy put there on purpose).
# (run by tests/install.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/install.sh
source "$TESTS/lib/install.sh"
dump_on_failure ""
install_sandbox_setup
elsewhere=/run/vh/elsewhere
overlay_on "$VH_TARGET_DIR" "$elsewhere" elsewhere
stale="$REPO/target/x86_64-unknown-linux-gnu/release/vnet-helper"
printf '#!/bin/sh\necho stale\n' > "$stale"   # on the overlay: the real file is untouched
chmod 0755 "$stale"

rc=0
CARGO_TARGET_DIR=$elsewhere CARGO_NET_OFFLINE=true "$REPO/install.sh" > "$WORK/install.out" 2>&1 || rc=$?
cat "$WORK/install.out" >&2
echo "INSTALL_RC=$rc"
echo "FROM=$(sed -n "s|^installed $INSTALLED_BIN (setuid root, mode 4755) from ||p" "$WORK/install.out")"
echo "INSTALLED_SHA=$(sha256sum < "$INSTALLED_BIN" | cut -c1-64)"
echo "ELSEWHERE_SHA=$(sha256sum < "$elsewhere/x86_64-unknown-linux-gnu/release/vnet-helper" | cut -c1-64)"
echo "STALE_SHA=$(sha256sum < "$stale" | cut -c1-64)"
echo "VH_SHA=$(sha256sum < "$VH" | cut -c1-64)"
install_facts INSTALLED
