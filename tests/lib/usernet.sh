# shellcheck shell=bash
# tests/lib/usernet.sh: user networks (README "Networks users create") from
# the sandboxed host: named users, the admin's policy, `net` commands and
# attaches run as those users, the audit trail, and what a network leaves.
# Source after tests/lib/common.sh and tests/lib/net.sh.
#
#   un_users                 private /etc/passwd and /etc/group (bind mounts of
#                            copies, this mount namespace only) with alice
#                            4242, bob 4243, carol 4244, dave 4245 and group
#                            vmusers (4300: bob, dave)
#   un_ids USER              UID:GID[:GROUPS] of a test user (fake_qemu --as)
#   un_as USER CMD...        run CMD as USER (its groups as the kernel sees them)
#   un_policy < TOML         /etc/vnet-helper/user-networks.toml, root 0644
#   un_net LABEL USER ARGS.. `vnet-helper ARGS` as USER (root: as root):
#                            LABEL_RC, LABEL_OUT (first line), LABEL_OUT_ALL,
#                            LABEL_ERR (lines joined by ' | '), LABEL_ERR_LINES
#   un_attach LABEL USER NAME  one attach as QEMU makes it, tap not kept:
#                            LABEL_RC, LABEL_GOT_FD, LABEL_TAP, LABEL_STDERR
#   un_hold USER NAME OUT    an attach that keeps its tap (UN_HOLDER, UN_TAP)
#   un_record NAME           path of NAME's record
#   un_leftovers NAME        what is left of NAME: bridge rundir libdir record
#                            rules (words; empty if nothing)
#   un_syslog_start / un_syslog_stop   a syslog listener on a private /dev/log
#   un_audited NAME UID [WORD]  yes if one of our syslog lines has uid=UID,
#                            name=NAME or bridge=NAME (and WORD)
#   un_snapshot FILE [ERE] / un_same KEY FILE [ERE]   links, addresses,
#                            firewall (both backends), the helper's files (but
#                            locks; only paths matching ERE if given):
#                            KEY=same|differs (the diff on stderr), and
#                            KEY_SORTED: the same with lines sorted

UN_GROUP_GID=4300

un_users() {
  local f
  for f in passwd group; do
    cp "/etc/$f" "$WORK/etc.$f"
  done
  cat >> "$WORK/etc.passwd" <<'EOF'
alice:x:4242:4242:test user alice:/nonexistent:/bin/sh
bob:x:4243:4243:test user bob:/nonexistent:/bin/sh
carol:x:4244:4244:test user carol:/nonexistent:/bin/sh
dave:x:4245:4245:test user dave:/nonexistent:/bin/sh
EOF
  cat >> "$WORK/etc.group" <<EOF
alice:x:4242:
bob:x:4243:
carol:x:4244:
dave:x:4245:
vmusers:x:$UN_GROUP_GID:bob,dave
EOF
  for f in passwd group; do
    chown root:root "$WORK/etc.$f"; chmod 0644 "$WORK/etc.$f"
    mount --bind "$WORK/etc.$f" "/etc/$f"
  done
}

un_ids() {
  case $1 in
    alice) echo 4242:4242 ;;
    bob) echo "4243:4243:$UN_GROUP_GID" ;;
    carol) echo 4244:4244 ;;
    dave) echo "4245:4245:$UN_GROUP_GID" ;;
    *) echo "un_ids: no test user $1" >&2; return 1 ;;
  esac
}

un_as() {
  local ids u g gs; ids=$(un_ids "$1"); shift
  IFS=: read -r u g gs <<<"$ids"
  if [ -n "$gs" ]; then
    setpriv --reuid="$u" --regid="$g" --groups="$gs" -- "$@"
  else
    setpriv --reuid="$u" --regid="$g" --clear-groups -- "$@"
  fi
}

un_policy() {
  mkdir -p /etc/vnet-helper
  cat > /etc/vnet-helper/user-networks.toml
  chown root:root /etc/vnet-helper/user-networks.toml
  chmod 0644 /etc/vnet-helper/user-networks.toml
}

un_net() {
  local label=$1 who=$2 rc=0; shift 2
  if [ "$who" = root ]; then
    "$VH" "$@" > "$WORK/un.out" 2> "$WORK/un.err" < /dev/null || rc=$?
  else
    un_as "$who" "$VH" "$@" > "$WORK/un.out" 2> "$WORK/un.err" < /dev/null || rc=$?
  fi
  echo "${label}_RC=$rc"
  echo "${label}_OUT=$(head -n 1 "$WORK/un.out")"
  echo "${label}_OUT_ALL=$(sed ':a;N;$!ba;s/\n/ | /g' "$WORK/un.out")"
  echo "${label}_ERR=$(sed ':a;N;$!ba;s/\n/ | /g' "$WORK/un.err")"
  echo "${label}_ERR_LINES=$(wc -l < "$WORK/un.err")"
  cp "$WORK/un.out" "$WORK/out.$label"
}

un_attach() {
  /usr/bin/python3 "$TESTS/tools/fake_qemu.py" --as "$(un_ids "$2")" "$VH" "$3" \
    | grep -E '^(RC|GOT_FD|TAP|STDERR)=' | sed "s/^/$1_/"
}

un_hold() {
  local out=$3
  /usr/bin/python3 "$TESTS/tools/fake_qemu.py" --as "$(un_ids "$1")" --hold 600 "$VH" "$2" > "$out" 2>&1 &
  # shellcheck disable=SC2034 # for the caller
  UN_HOLDER=$!
  wait_for 25 grep -q '^RC=' "$out" || { cat "$out" >&2; die "attach to $2 as $1: no result within 25 s"; }
  if ! grep -qx 'RC=0' "$out" || ! grep -qx 'GOT_FD=yes' "$out"; then
    cat "$out" >&2; die "attach to $2 as $1 failed"
  fi
  # shellcheck disable=SC2034
  UN_TAP=$(sed -n 's/^TAP=//p' "$out")
}

un_record() { echo "/var/lib/vnet-helper/user-networks/$1.toml"; }

un_leftovers() {
  local n=$1 left=""
  link_exists "$n" && left="$left bridge"
  [ -e "$(run_dir "$n")" ] && left="$left rundir"
  [ -e "$(lib_dir "$n")" ] && left="$left libdir"
  [ -e "$(un_record "$n")" ] && left="$left record"
  any_rules "$n" && left="$left rules"
  [ -n "$(dnsmasq_pids "$n")$(supervisor_pids "$n")" ] && left="$left processes"
  echo "${left# }"
}

un_syslog_start() {
  mkdir -p /run/devov/u /run/devov/w
  mount -t overlay devov -o lowerdir=/dev,upperdir=/run/devov/u,workdir=/run/devov/w /dev
  rm -f /dev/log
  # a listener without an idle timeout (the test's long waits are silent)
  /usr/bin/python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
with open(sys.argv[1], "w") as f:
    while True:
        f.write(s.recv(8192).decode(errors="replace") + "\n")
        f.flush()
' "$WORK/syslog.txt" &
  UN_SYSLOGD=$!
  wait_for 10 test -S /dev/log || die "the syslog listener did not start"
}

un_syslog_stop() {
  sleep 0.3
  kill "$UN_SYSLOGD" 2>/dev/null || true
  wait "$UN_SYSLOGD" 2>/dev/null || true
  { echo "--- our syslog lines"; grep -F "vnet-helper[" "$WORK/syslog.txt" || true; } >&2
}

un_audited() {
  if grep -F "vnet-helper[" "$WORK/syslog.txt" 2>/dev/null | awk -v n="$1" -v u="$2" -v w="${3:-}" '
      index($0, " uid=" u " ") && (index($0, " name=" n " ") || index($0, " bridge=" n " ")) && index($0, w) { f = 1 }
      END { exit !f }'; then echo yes; else echo no; fi
}

un_snapshot() {
  {
    echo "== links"; ip -o link show | awk -F': ' '{ print $2 }' | sed 's/@.*//' | sort
    echo "== addresses"; ip -o addr show | awk '{ print $2, $4 }' | sort
    fw_save
    echo "== nft ruleset"; nft_save
    echo "== files"
    find /run/vnet-helper /var/lib/vnet-helper 2>/dev/null | grep -v '^/run/vnet-helper/lock' \
      | grep -E -- "${2:-.}" | sort || true
  } > "$1"
}

un_same() {
  local now="$WORK/snap.now"
  un_snapshot "$now" "${3:-}"
  if cmp -s "$2" "$now"; then echo "$1=same"; else
    echo "$1=differs"; { echo "--- $1: differs (diff before now)"; diff "$2" "$now" || true; } >&2
  fi
  if [ "$(sort "$2")" = "$(sort "$now")" ]; then echo "$1_SORTED=same"; else echo "$1_SORTED=differs"; fi
}
