#!/bin/bash
# tests/scripts/usernet/concurrent_creates.sh: 16 `net create` at once, four
# users (alice and carol by name, bob and dave through @vmusers) four names
# each, max-per-user 3: exactly 3 networks per user, 12 in all, every subnet
# distinct and inside the pool, the 4 others refused for the quota.
# (run by tests/usernet.rs in tests/sandbox.sh; prints KEY=VALUE lines)
# shellcheck source=tests/lib/common.sh
source "$TESTS/lib/common.sh"
# shellcheck source=tests/lib/net.sh
source "$TESTS/lib/net.sh"
# shellcheck source=tests/lib/usernet.sh
source "$TESTS/lib/usernet.sh"
dump_on_failure ""
un_users
un_policy <<'EOF2'
[[pool]]
users = ["alice", "carol", "@vmusers"]
prefix = "vc-"
subnets = ["10.240.0.0/16"]
max-per-user = 3
EOF2
go=$WORK/go
for u in alice bob carol dave; do
  for i in 1 2 3 4; do
    # all 16 wait for the same file, then race
    # shellcheck disable=SC2016 # the inner shell expands its arguments
    un_as "$u" bash -c 'while [ ! -e "$1" ]; do sleep 0.01; done; exec "$2" net create "$3"' \
      _ "$go" "$VH" "vc-$u$i" > "$WORK/c.$u$i.out" 2> "$WORK/c.$u$i.err" < /dev/null &
    echo "$! $u$i" >> "$WORK/pids"
  done
done
sleep 0.5
t0=$EPOCHREALTIME
touch "$go"
ok=0 quota=0 other=0
while read -r pid n; do
  rc=0; wait "$pid" || rc=$?
  if [ "$rc" = 0 ]; then ok=$((ok + 1))
  elif grep -q "max-per-user 3" "$WORK/c.$n.err"; then quota=$((quota + 1))
  else other=$((other + 1)); echo "OTHER_ERR=$n rc=$rc $(cat "$WORK/c.$n.err")"; fi
done < "$WORK/pids"
echo "T_ALL=$(since "$t0")"
echo "CREATED=$ok"; echo "QUOTA_REFUSED=$quota"; echo "OTHER_REFUSED=$other"
echo "RECORDS=$(find /var/lib/vnet-helper/user-networks -name 'vc-*.toml' | wc -l)"
"$VH" net list --json > "$WORK/all.json" || echo "LIST_RC=$?"
python3 - "$WORK/all.json" <<'PY' || echo "PYTHON_FAILED=$?"
import ipaddress, json, sys
nets = json.load(open(sys.argv[1]))
pool = ipaddress.ip_network("10.240.0.0/16")
subs = [ipaddress.ip_network(n["subnet"]) for n in nets]
print("LISTED=%d" % len(nets))
print("DISTINCT_NAMES=%d" % len({n["name"] for n in nets}))
print("DISTINCT_SUBNETS=%d" % len(set(subs)))
print("OVERLAPS=%d" % sum(a.overlaps(b) for i, a in enumerate(subs) for b in subs[i + 1:]))
print("IN_POOL=%d" % sum(s.subnet_of(pool) and s.prefixlen == 24 for s in subs))
for u in ("alice", "bob", "carol", "dave"):
    print("PER_%s=%d" % (u, sum(n["owner"] == u for n in nets)))
print("NAME_OWNER_MATCH=%d" % sum(n["name"].startswith("vc-" + n["owner"]) for n in nets))
PY
# and each user sees exactly their 3
for u in alice bob carol dave; do
  un_as "$u" "$VH" net list --json > "$WORK/$u.json"
  echo "SEES_$u=$(python3 -c 'import json,sys; print(" ".join(sorted(n["owner"] for n in json.load(open(sys.argv[1])))))' "$WORK/$u.json")"
done
echo "BRIDGES=$(ip -o link show type bridge | wc -l)"
