#!/bin/bash
# tests/scripts/install/uninstall_removes_only_what_it_wrote.sh: install.sh
# --uninstall removes the vnet0.toml it wrote (also after a second install.sh
# kept it), and keeps one the admin edited since; the same for the
# bridge.conf it wrote.
# (run by tests/install.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/install.sh
source "$TESTS/lib/install.sh"
dump_on_failure ""
install_sandbox_setup

# installed twice (the second keeps the file), then uninstalled: all gone
rc=0; run_install || rc=$?; echo "FIRST_RC=$rc"
rc=0; run_install || rc=$?; echo "SECOND_RC=$rc"
echo "SECOND_SAID_KEPT_OWN=$(install_said "^kept $INSTALLED_NET \\(written by an earlier install.sh\\)\$")"
install_facts INSTALLED
rc=0; run_install --uninstall || rc=$?; echo "UNINSTALL_RC=$rc"
echo "SAID_REMOVED_NET=$(install_said "^removed $INSTALLED_NET\$")"
install_facts UNINSTALLED

# installed, edited by the admin, uninstalled: the edit stays
rc=0; run_install || rc=$?; echo "THIRD_RC=$rc"
echo 'lease-time = "12h"   # the admin was here' >> "$INSTALLED_NET"
cp -p "$INSTALLED_NET" "$WORK/edited.toml"
echo 'allow lab0' >> "$(acl_file)"
cp -p "$(acl_file)" "$WORK/edited.conf"
rc=0; run_install --uninstall || rc=$?; echo "EDITED_UNINSTALL_RC=$rc"
echo "SAID_KEPT_EDITED=$(install_said "^kept $INSTALLED_NET: changed since install.sh wrote it\$")"
echo "EDITED_SAME=$(yes_no cmp -s "$INSTALLED_NET" "$WORK/edited.toml")"
echo "SAID_KEPT_EDITED_ACL=$(install_said "^kept $(acl_file): changed since install.sh wrote it\$")"
echo "EDITED_ACL_SAME=$(yes_no cmp -s "$(acl_file)" "$WORK/edited.conf")"
install_facts EDITED
