//! End-to-end tests of managed NAT networks with real guests: an unprivileged
//! QEMU (TCG, uid 4242) boots the busybox test guest (tests/guest/) on the
//! network `vnet0`, which does not exist until the guest's helper call brings
//! it up. Everything happens inside tests/sandbox.sh (private net + mount +
//! PID namespaces); tests/e2e_lib.sh builds the topology in each sandbox:
//!
//! ```text
//!   guests --tap-- [vnet0 10.200.0.1/24] host [uplink0 198.51.100.2/24]
//!                                                 | veth
//!                                  netns upstream [eth0 198.51.100.1/24]
//! ```
//!
//! with the host's default route via 198.51.100.1, a TCP server on upstream
//! (198.51.100.1:7000) and one on the host's own uplink address
//! (198.51.100.2:7001), both recording the address of each client.
//!
//! The shell side prints facts as KEY=VALUE lines; the assertions are here,
//! and every failure message carries the whole transcript (the guest library
//! adds the serial log of a failed guest, e2e_lib.sh a dump of the network's
//! state when the script fails).

mod common;

use common::Run;

const PRELUDE: &str = r#"
source "$TESTS/guest/lib.sh"
source "$TESTS/e2e_lib.sh"
export GUEST_TIMEOUT=150
e2e_on_failure vnet0
e2e_topology
define_network vnet0
"#;

/// A finished sandbox run with assertion helpers that show the transcript.
struct Outcome {
    test: &'static str,
    run: Run,
}

impl Outcome {
    fn start(test: &'static str, script: &str) -> Outcome {
        let t0 = std::time::Instant::now();
        let run = common::sandbox(&format!("{PRELUDE}\n{script}"));
        eprintln!(
            "{test}: sandbox script ran in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
        let o = Outcome { test, run };
        if std::env::var_os("VH_E2E_SHOW").is_some() {
            eprintln!(
                "--- {test}: stdout ---\n{}\n--- {test}: stderr ---\n{}",
                o.run.stdout, o.run.stderr
            );
        }
        if o.run.status != 0 {
            o.fail(&format!(
                "the sandbox script failed with status {}",
                o.run.status
            ));
        }
        o
    }

    fn fail(&self, msg: &str) -> ! {
        panic!(
            "{}: {msg}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.test, self.run.stdout, self.run.stderr
        );
    }

    /// The single value of KEY (fails if it is missing or repeated).
    fn v(&self, key: &str) -> String {
        let vals = self.run.values(key);
        if vals.len() != 1 {
            self.fail(&format!("expected exactly one {key}= line, got {vals:?}"));
        }
        vals[0].clone()
    }

    fn check(&self, ok: bool, msg: &str) {
        if !ok {
            self.fail(msg);
        }
    }

    fn eq(&self, key: &str, want: &str) {
        let got = self.v(key);
        self.check(
            got == want,
            &format!("{key}: expected `{want}', got `{got}'"),
        );
    }

    fn report_timings(&self) {
        for l in self.run.stdout.lines() {
            if l.starts_with("GUEST_SECONDS_") || l.starts_with("T_") {
                eprintln!("{}: {l}", self.test);
            }
        }
    }
}

/// 10.200.0.N with 100 <= N <= 199 (the definition's dhcp-range)
fn in_range(ip: &str) -> bool {
    ip.strip_prefix("10.200.0.")
        .and_then(|n| n.parse::<u8>().ok())
        .is_some_and(|n| (100..=199).contains(&n) && ip == format!("10.200.0.{n}"))
}

#[test]
fn nat_guest_end_to_end() {
    const TEST: &str = "nat_guest_end_to_end";
    if !common::have_root(TEST) {
        return;
    }
    let o = Outcome::start(
        TEST,
        r#"
e2e_state vnet0 BEFORE
t0=$EPOCHREALTIME

# guest 1: lease, gateway, upstream through NAT, the host's own address; then
# it stays up (wait_release) while guest 2 joins
{ guest_snippets; cat <<'EOF'
dhcp guest1
pings 3 10.200.0.1 GW
tcp UPSTREAM 198.51.100.1 7000
tcp HOST 198.51.100.2 7001
echo G1-READY
wait_release
EOF
} > "$WORK/g1.sh"
guest_start g1 "$WORK/g1.sh" $(nic vnet0 52:54:00:e2:00:01)
guest_wait_marker g1 '^G1-READY'
echo "T_G1_READY=$(e2e_elapsed "$t0")"
G1_IP=$(guest_value g1 LEASE_IP)
echo "G1_IP=$G1_IP"
for k in DHCP_START_UPTIME DHCP_DONE_UPTIME LEASE_ROUTER LEASE_DNS LEASE_DOMAIN LEASE_MASK PING_RECEIVED_GW TCP_UPSTREAM TCP_HOST; do
  echo "G1_$k=$(guest_value g1 $k)"
done
echo "UPSTREAM_PEERS=$(sed -n 's/^PEER=//p' "$E2E_UP_PEERS" | sort -u | tr '\n' ' ' | sed 's/ $//')"
echo "HOST_PEERS=$(sed -n 's/^PEER=//p' "$E2E_HOST_PEERS" | sort -u | tr '\n' ' ' | sed 's/ $//')"
# DNS from the host: the guest's DHCP host name under the network's domain
echo "HOST_NSLOOKUP_G1=$(timeout 10 busybox nslookup guest1.vm 10.200.0.1 2>&1 \
  | awk '/^Name:/ { n = 1 } n && /^Address/ { print $2 }' | tr '\n' ' ' | sed 's/ $//')"
e2e_state vnet0 UP1
fw_dump > "$WORK/fw-up1"

# guest 2 on the running network: a lease of its own, DNS for guest 1's
# name through the gateway, guest-to-guest ping
{ echo "G1_IP=$G1_IP"; guest_snippets; cat <<'EOF'
dhcp guest2
echo "NSLOOKUP_G1=$(nslookup guest1.vm 2>&1 | awk '/^Name:/ { n = 1 } n && /^Address/ { print $2 }' | tr '\n' ' ' | sed 's/ $//')"
pings 3 "$G1_IP" PEER
echo G2-READY
wait_release
EOF
} > "$WORK/g2.sh"
t1=$EPOCHREALTIME
guest_start g2 "$WORK/g2.sh" $(nic vnet0 52:54:00:e2:00:02)
guest_wait_marker g2 '^G2-READY'
echo "T_G2_READY=$(e2e_elapsed "$t1")"
G2_IP=$(guest_value g2 LEASE_IP)
echo "G2_IP=$G2_IP"
for k in DHCP_START_UPTIME DHCP_DONE_UPTIME LEASE_ROUTER LEASE_DNS NSLOOKUP_G1 PING_RECEIVED_PEER; do
  echo "G2_$k=$(guest_value g2 $k)"
done
e2e_state vnet0 UP2
if fw_dump | cmp -s - "$WORK/fw-up1"; then echo "FW_AFTER_G2=same"; else
  echo "FW_AFTER_G2=differs"; fw_dump | diff "$WORK/fw-up1" - >&2 || true
fi

if release_guest g2 "$G2_IP"; then echo "RELEASED_G2=yes"; else echo "RELEASED_G2=no"; fi
if release_guest g1 "$G1_IP"; then echo "RELEASED_G1=yes"; else echo "RELEASED_G1=no"; fi
guest_wait g2
guest_wait g1
"#,
    );
    o.report_timings();

    // before: the network did not exist
    o.eq("BEFORE_BRIDGE", "absent");
    o.eq("BEFORE_NDNSMASQ_ANY", "0");
    o.eq("BEFORE_NSUPERVISOR", "0");
    o.eq("BEFORE_NVNET_RULES", "0");

    // guest 1's lease: in the range, gateway = router = DNS server
    let g1 = o.v("G1_IP");
    o.check(
        in_range(&g1),
        &format!("guest 1's lease {g1} is not in 10.200.0.100-199"),
    );
    o.eq("G1_LEASE_ROUTER", "10.200.0.1");
    o.eq("G1_LEASE_DNS", "10.200.0.1");
    o.eq("G1_LEASE_MASK", "24");
    o.eq("G1_LEASE_DOMAIN", "vm");
    o.eq("G1_PING_RECEIVED_GW", "3");

    // NAT: upstream sees the host's uplink address
    o.eq("G1_TCP_UPSTREAM", "hello-upstream");
    o.eq("UPSTREAM_PEERS", "198.51.100.2");
    // no masquerade to the host's own address: the host's server sees the guest
    o.eq("G1_TCP_HOST", "hello-host");
    o.eq("HOST_PEERS", &g1);

    // DNS: guest1.vm resolves through the gateway, from the host and from guest 2
    o.eq("HOST_NSLOOKUP_G1", &g1);
    o.eq("G2_NSLOOKUP_G1", &g1);

    // the network as guest 1 left it: one bridge port, one dnsmasq, one supervisor, rules
    o.eq("UP1_BRIDGE", "present");
    o.check(
        o.v("UP1_PORTS").split(' ').count() == 1,
        "UP1_PORTS: expected one port",
    );
    o.eq("UP1_NDNSMASQ", "1");
    o.eq("UP1_NDNSMASQ_ANY", "1");
    o.eq("UP1_NSUPERVISOR", "1");
    o.check(
        o.v("UP1_NVNET_RULES") != "0",
        "no VNET rules while the network is up",
    );

    // guest 2: a different lease, same router/DNS, reaches guest 1
    let g2 = o.v("G2_IP");
    o.check(
        in_range(&g2),
        &format!("guest 2's lease {g2} is not in 10.200.0.100-199"),
    );
    o.check(g2 != g1, &format!("both guests got {g1}"));
    o.eq("G2_LEASE_ROUTER", "10.200.0.1");
    o.eq("G2_LEASE_DNS", "10.200.0.1");
    o.eq("G2_PING_RECEIVED_PEER", "3");

    // the second guest added a tap and nothing else
    o.check(
        o.v("UP2_PORTS").split(' ').count() == 2,
        "UP2_PORTS: expected two ports",
    );
    o.eq("FW_AFTER_G2", "same");
    o.eq("UP2_NRULES", &o.v("UP1_NRULES"));
    o.eq("UP2_NDNSMASQ", "1");
    o.eq("UP2_NDNSMASQ_ANY", "1");
    o.eq("UP2_NSUPERVISOR", "1");

    o.eq("RELEASED_G1", "yes");
    o.eq("RELEASED_G2", "yes");
}

#[test]
fn lease_survives_teardown() {
    const TEST: &str = "lease_survives_teardown";
    if !common::have_root(TEST) {
        return;
    }
    let o = Outcome::start(
        TEST,
        r#"
MAC=52:54:00:12:34:56
{ guest_snippets; echo 'dhcp leaseguest'; } > "$WORK/g.sh"
fw_rules > "$WORK/fw-before"

guest_boot first "$WORK/g.sh" $(nic vnet0 $MAC)
echo "IP_FIRST=$(guest_value first LEASE_IP)"

# QEMU has exited: the last tap is gone; idle-timeout is 2s
t0=$EPOCHREALTIME
if e2e_wait 10 bridge_gone vnet0; then echo "TORN_DOWN=yes"; else echo "TORN_DOWN=no"; fi
echo "T_TEARDOWN=$(e2e_elapsed "$t0")"
# the rest of the teardown may trail the bridge by a moment
no_dnsmasq() { [ -z "$(all_dnsmasq)" ]; }
no_supervisor() { [ -z "$(supervisor_of vnet0)" ]; }
e2e_wait 5 no_dnsmasq || true
e2e_wait 5 no_supervisor || true
e2e_state vnet0 DOWN
if fw_rules | cmp -s - "$WORK/fw-before"; then echo "FW_AFTER_TEARDOWN=same"; else
  echo "FW_AFTER_TEARDOWN=differs"; fw_rules | diff "$WORK/fw-before" - >&2 || true
fi
L=/var/lib/vnet-helper/networks/vnet0/dnsmasq.leases
if [ -f "$L" ]; then echo "LEASEFILE=present"; else echo "LEASEFILE=absent"; fi
echo "LEASEFILE_ENTRY=$(awk -v m=$MAC 'tolower($2) == m { print $2, $3, $4 }' "$L" 2>/dev/null)"

# the same MAC again: the network comes back, with the same address for it
guest_boot second "$WORK/g.sh" $(nic vnet0 $MAC)
echo "IP_SECOND=$(guest_value second LEASE_IP)"
"#,
    );
    o.report_timings();

    let ip = o.v("IP_FIRST");
    o.check(
        in_range(&ip),
        &format!("first lease {ip} is not in the range"),
    );

    o.eq("TORN_DOWN", "yes");
    o.eq("DOWN_BRIDGE", "absent");
    o.eq("DOWN_NDNSMASQ_ANY", "0");
    o.eq("DOWN_NSUPERVISOR", "0");
    o.eq("DOWN_NVNET_RULES", "0");
    o.eq("FW_AFTER_TEARDOWN", "same");

    o.eq("LEASEFILE", "present");
    o.eq(
        "LEASEFILE_ENTRY",
        &format!("52:54:00:12:34:56 {ip} leaseguest"),
    );

    o.eq("IP_SECOND", &ip);
}

#[test]
fn status_shows_lease() {
    const TEST: &str = "status_shows_lease";
    if !common::have_root(TEST) {
        return;
    }
    let o = Outcome::start(
        TEST,
        r#"
MAC=52:54:00:5a:7a:05
{ guest_snippets; cat <<'EOF'
dhcp statusguest
echo G-READY
wait_release
EOF
} > "$WORK/g.sh"
guest_start s "$WORK/g.sh" $(nic vnet0 $MAC)
guest_wait_marker s '^G-READY'
IP=$(guest_value s LEASE_IP)
echo "GUEST_IP=$IP"
echo "QEMU_PIDS=$(qemu_pids)"
echo "BRIDGE_PORTS=$(bridge_ports vnet0)"
echo "REAL_DNSMASQ_PID=$(dnsmasq_of vnet0)"
echo "REAL_SUPERVISOR_PID=$(supervisor_of vnet0)"

# status_facts PREFIX FILE: the JSON of `status --json vnet0` as KEY=VALUE lines
status_facts() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
p, path = sys.argv[1], sys.argv[2]
try:
    doc = json.load(open(path))
except Exception as e:
    print("%s_JSON=invalid (%s)" % (p, e)); sys.exit(0)
print("%s_JSON=ok" % p)
nets = doc if isinstance(doc, list) else [doc]
net = [n for n in nets if isinstance(n, dict) and n.get("name") == "vnet0"]
print("%s_NETS=%d" % (p, len(net)))
if not net: sys.exit(0)
n = net[0]
print("%s_UP=%s" % (p, json.dumps(n.get("up"))))
print("%s_DNSMASQ_PID=%s" % (p, json.dumps(n.get("dnsmasq_pid"))))
print("%s_SUPERVISOR_PID=%s" % (p, json.dumps(n.get("supervisor_pid"))))
for l in n.get("leases") or []:
    print("%s_LEASE=%s %s %s" % (p, str(l.get("mac")).lower(), l.get("ip"), l.get("hostname")))
for t in n.get("taps") or []:
    print("%s_TAP=%s" % (p, t.get("name")))
    for o in t.get("owners") or []:
        print("%s_OWNER=%s %s %s" % (p, t.get("name"), o.get("pid"), o.get("uid")))
PY
}

# as the unprivileged user
rc=0; $AS_USER "$VH" status --json vnet0 > "$WORK/status-user.json" 2> "$WORK/status-user.err" || rc=$?
echo "USER_RC=$rc"
cat "$WORK/status-user.json" "$WORK/status-user.err" >&2
status_facts USER "$WORK/status-user.json"
rc=0; $AS_USER "$VH" status vnet0 > "$WORK/status-user.txt" 2>&1 || rc=$?
echo "USER_TEXT_RC=$rc"
cat "$WORK/status-user.txt" >&2
echo "USER_TEXT_STATE=$(head -n 1 "$WORK/status-user.txt")"
echo "USER_TEXT_SUPERVISOR=$(sed -n 's/^ *supervisor: //p' "$WORK/status-user.txt")"

# as root: JSON and text
rc=0; "$VH" status --json vnet0 > "$WORK/status-root.json" || rc=$?
echo "ROOT_RC=$rc"
cat "$WORK/status-root.json" >&2
status_facts ROOT "$WORK/status-root.json"
rc=0; "$VH" status vnet0 > "$WORK/status-root.txt" || rc=$?
echo "ROOT_TEXT_RC=$rc"
cat "$WORK/status-root.txt" >&2
tap=$(bridge_ports vnet0)
echo "ROOT_TEXT_TAP_LINE=$(grep -E "^ +$tap( |$)" "$WORK/status-root.txt" | sed 's/^ *//')"
echo "ROOT_TEXT_LEASE_LINE=$(grep -iE "^ +$MAC " "$WORK/status-root.txt" | sed 's/^ *//; s/ expires .*//')"

if release_guest s "$IP"; then echo "RELEASED=yes"; else echo "RELEASED=no"; fi
guest_wait s
"#,
    );
    o.report_timings();

    let ip = o.v("GUEST_IP");
    o.check(in_range(&ip), &format!("lease {ip} is not in the range"));
    let qemu = o.v("QEMU_PIDS");
    o.check(
        !qemu.is_empty() && !qemu.contains(' '),
        &format!("expected exactly one QEMU process, got `{qemu}'"),
    );
    let tap = o.v("BRIDGE_PORTS");
    o.check(
        tap.starts_with("tap") && !tap.contains(' '),
        &format!("bridge ports: `{tap}'"),
    );
    let lease = format!("52:54:00:5a:7a:05 {ip} statusguest");

    let dnsmasq = o.v("REAL_DNSMASQ_PID");
    let supervisor = o.v("REAL_SUPERVISOR_PID");
    o.check(
        !dnsmasq.is_empty() && !dnsmasq.contains(' '),
        "expected one dnsmasq",
    );
    o.check(
        !supervisor.is_empty() && !supervisor.contains(' '),
        "expected one supervisor",
    );

    // root: the network, its lease, its tap and who holds the tap (the QEMU
    // process, uid 4242), the dnsmasq and supervisor pids
    o.eq("ROOT_RC", "0");
    o.eq("ROOT_JSON", "ok");
    o.eq("ROOT_NETS", "1");
    o.eq("ROOT_UP", "true");
    o.eq("ROOT_LEASE", &lease);
    o.eq("ROOT_TAP", &tap);
    o.eq("ROOT_OWNER", &format!("{tap} {qemu} 4242"));
    o.eq("ROOT_DNSMASQ_PID", &dnsmasq);
    o.eq("ROOT_SUPERVISOR_PID", &supervisor);
    o.eq("ROOT_TEXT_RC", "0");
    o.eq(
        "ROOT_TEXT_TAP_LINE",
        &format!("{tap} (pid {qemu} uid 4242)"),
    );
    o.eq("ROOT_TEXT_LEASE_LINE", &lease);

    // any user: the network, its lease and its tap (owners are root-only)
    o.eq("USER_RC", "0");
    o.eq("USER_JSON", "ok");
    o.eq("USER_NETS", "1");
    o.eq("USER_LEASE", &lease);
    o.eq("USER_TAP", &tap);
    o.eq("USER_DNSMASQ_PID", &dnsmasq);
    o.eq("USER_TEXT_RC", "0");
    // ... and that it is up, with its supervisor: a user must not be told a
    // running network is down (issue 4: status shows "up or down ... dnsmasq
    // and supervisor pids" to any user)
    let user_up = o.v("USER_UP");
    o.check(
        user_up == "true",
        &format!(
            "USER_UP={user_up}: `status --json vnet0` as uid 4242 calls the running network \
             down (ROOT_UP={}); see USER_SUPERVISOR_PID / USER_TEXT_STATE",
            o.v("ROOT_UP")
        ),
    );
    o.eq("USER_TEXT_STATE", "vnet0: up");
    o.eq("USER_SUPERVISOR_PID", &supervisor);
    o.eq("USER_TEXT_SUPERVISOR", &format!("pid {supervisor}"));

    o.eq("RELEASED", "yes");
}
