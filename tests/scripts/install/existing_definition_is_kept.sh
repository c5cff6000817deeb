#!/bin/bash
# tests/scripts/install/existing_definition_is_kept.sh: an admin's own
# vnet0.toml survives install.sh and install.sh --uninstall, byte for byte.
# (run by tests/install.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/install.sh
source "$TESTS/lib/install.sh"
dump_on_failure ""
install_sandbox_setup
mkdir -p "$(dirname "$INSTALLED_NET")"
printf '%s\n' '# mine' 'address = "10.77.0.1/24"' 'dns = false' > "$INSTALLED_NET"
chmod 0640 "$INSTALLED_NET"
cp -p "$INSTALLED_NET" "$WORK/mine.toml"

rc=0; run_install || rc=$?
echo "INSTALL_RC=$rc"
echo "SAID_KEPT=$(install_said "^kept existing $INSTALLED_NET\$")"
echo "SAID_INSTALLED_NET=$(install_said "^installed $INSTALLED_NET")"
echo "AFTER_INSTALL_SAME=$(yes_no cmp -s "$INSTALLED_NET" "$WORK/mine.toml")"
echo "AFTER_INSTALL_MODE=$(file_facts "$INSTALLED_NET")"
install_facts INSTALLED

rc=0; run_install --uninstall || rc=$?
echo "UNINSTALL_RC=$rc"
echo "AFTER_UNINSTALL_SAME=$(yes_no cmp -s "$INSTALLED_NET" "$WORK/mine.toml")"
install_facts UNINSTALLED
