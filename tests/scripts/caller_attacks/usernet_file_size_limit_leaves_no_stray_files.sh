#!/bin/bash
# tests/scripts/caller_attacks/usernet_file_size_limit_leaves_no_stray_files.sh:
# a pool member (mallory, uid 4242) runs `net create` under a 20-byte file
# size limit (hard, so that root cannot raise it where the host withholds
# CAP_SYS_RESOURCE): writing the record raises SIGXFSZ in the root process.
# Twenty such calls with twenty names must not leave twenty files in the
# records directory (each an inode of /var taken by a user who owns nothing
# there), and no call may report success without its record, or a record
# without success.
# (run by tests/caller_attacks.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/caller_attacks.sh
source "$TESTS/lib/caller_attacks.sh"
ua_users
ua_pool 'max-per-user = 30'
tries=20 killed=0 ok=0 inconsistent=0
for i in $(seq 1 "$tries"); do
  rc=0
  ua_as mallory prlimit --fsize=20:20 "$VH" net create "vu-f$i" > /dev/null 2> "$WORK/err" || rc=$?
  [ "$rc" -gt 128 ] && killed=$((killed + 1))
  [ "$rc" = 0 ] && ok=$((ok + 1))
  if [ -e "$(ua_record "vu-f$i")" ]; then has=yes; else has=no; fi
  { [ "$rc" = 0 ] && [ $has = no ]; } || { [ "$rc" != 0 ] && [ $has = yes ]; } && inconsistent=$((inconsistent + 1))
  echo "TRY=$i rc=$rc record=$has err=$(head -n 1 "$WORK/err")"
done
echo "TRIES=$tries"
echo "N_KILLED=$killed"
echo "N_CREATED=$ok"
echo "N_INCONSISTENT=$inconsistent"
# what is in the records directory besides records
echo "STRAY_FILES=$(find "$(ua_records_dir)" -mindepth 1 -maxdepth 1 ! -name '*.toml' 2>/dev/null | wc -l)"
echo "RECORDS=$(find "$(ua_records_dir)" -mindepth 1 -maxdepth 1 -name '*.toml' 2>/dev/null | wc -l)"
# and a normal create still works afterwards
rc=0; ua_as mallory "$VH" net create vu-after > /dev/null 2>&1 || rc=$?
echo "AFTER_RC=$rc"
