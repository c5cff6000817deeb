//! Acceptance tests of issue 5 (network features), end to end with the booted
//! test guest (tests/guest/) inside the sandbox (tests/sandbox.sh):
//! 1. static hosts and port forwards: fixed lease, names through dnsmasq, tcp
//!    forward from upstream / from the host / hairpin from another guest, a
//!    host-address-restricted forward, a udp forward, `vnet-helper up` reload;
//! 2. isolated mode next to a nat network; 3. routed mode next to nat and
//!    isolated networks; 4. bridged mode on a LAN with its own DHCP server,
//!    idle teardown, refusal of the default-route uplink; 5. IPv6 (DHCPv6,
//!    NAT66, an IPv6 forward); 6. eight networks at once (concurrent bring-up,
//!    firewall exactly once, isolation, concurrent teardown); 7. `check` and
//!    bring-up refuse bad features with file and line; 8. `vnet-helper mac`.
//!
//! The sandbox is "the host"; an `upstream` network namespace behind a veth
//! (host uplink0 198.51.100.2/24 + 2001:db8:1::2/64, the host's default routes
//! go through it) plays the outside world. Shell helpers, and the two small
//! static programs the guests need (busybox here has neither `nc -u` nor
//! udhcpc6): tests/features_lib.sh. Each test prints its KEY=VALUE results
//! (see them with `-- --nocapture`); a failure shows the whole transcript.
//!
//! Guests are slow (QEMU TCG, ~10-20 s a boot): the tests that boot guests take
//! a process-wide lock so that at most two guests run at a time.

mod common;

use std::sync::Mutex;
use std::time::Instant;

static GUESTS: Mutex<()> = Mutex::new(());

const PRELUDE: &str = r#"
source "$TESTS/guest/lib.sh"
source "$TESTS/features_lib.sh"
trap 'rc=$?; if [ $rc != 0 ]; then echo "SCRIPT_FAILED=$rc"; dump_state; fi' EXIT
"#;

/// Run a sandboxed script (PRELUDE + body), serialized with the other guest
/// tests when `guests` is true; report the time taken.
fn run(test: &str, guests: bool, body: &str) -> common::Run {
    let _g = if guests {
        Some(GUESTS.lock().unwrap_or_else(|e| e.into_inner()))
    } else {
        None
    };
    let t0 = Instant::now();
    let r = common::sandbox(&format!("{PRELUDE}\n{body}"));
    eprintln!(
        "{test}: sandbox script took {:.1} s (status {})",
        t0.elapsed().as_secs_f64(),
        r.status
    );
    // the KEY=VALUE results (shown with --nocapture, or with a failure)
    for l in r.stdout.lines() {
        eprintln!("{test}: {l}");
    }
    r
}

fn transcript(r: &common::Run) -> String {
    format!(
        "--- status {} ---\n--- stdout ---\n{}\n--- stderr ---\n{}",
        r.status, r.stdout, r.stderr
    )
}

/// Assert KEY=want, with the whole transcript on failure.
fn expect(r: &common::Run, key: &str, want: &str, what: &str) {
    let got = r.values(key);
    assert!(
        got.len() == 1 && got[0] == want,
        "{what}: expected {key}={want}, got {got:?}\n{}",
        transcript(r)
    );
}

// ---------------------------------------------------------------------------
// 1. static hosts and port forwards

const STATIC_HOST_AND_FORWARDS: &str = r#"
upstream_setup
overlay_build
define vnet1 <<'EOF'
mode = "nat"
address = "10.200.0.1/24"
domain = "vm"
uplink = "uplink0"

[[host]]
mac = "52:54:00:00:00:10"
ip = "10.200.0.10"
name = "web"

[[forward]]
proto = "tcp"
port = 8080
to = "10.200.0.10:80"

[[forward]]
proto = "udp"
port = 5353
to = "10.200.0.10:5353"

[[forward]]
proto = "tcp"
port = 8081
to = "10.200.0.10:80"
host-address = "198.51.100.2"
EOF

# guest A: the [[host]] MAC; web server and UDP recorder; stays up until told
guest_script "$WORK/a.sh" <<'EOF'
lease
[ "$DHCP_IP" = 10.200.0.10 ] || echo "A-WRONG-IP"
mkdir -p /www
echo "VH-KNOWN-STRING-4711" > /www/index.html
httpd -p 80 -h /www
/bin/udprecv 5353 &
sleep 1
echo A-READY
wait_go 240
EOF
# guest B: dynamic lease; resolves the static name; hairpin through the host
guest_script "$WORK/b.sh" <<'EOF'
lease
for n in web web.vm; do
  out=$(nslookup "$n" 10.200.0.1 2>&1 || true)
  echo "$out" | sed "s/^/NS[$n]: /"
  if echo "$out" | grep -Eq '^Address:?[[:space:]]+10\.200\.0\.10$'; then echo "RESOLVED[$n]=10.200.0.10"; fi
done
ok=no
for i in $(seq 90); do
  out=$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 nc 198.51.100.2 8080 2>&1 || true)
  if echo "$out" | grep -q VH-KNOWN-STRING-4711; then ok=yes; break; fi
  sleep 1
done
echo "HAIRPIN=$ok after $i tries"
out=$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 nc 10.200.0.1 8080 2>&1 || true)
if echo "$out" | grep -q VH-KNOWN-STRING-4711; then echo "HAIRPIN-GW=yes"; else echo "HAIRPIN-GW=no"; fi
echo "B-DONE"
EOF
export GUEST_OVERLAY=$FT_OVERLAY
guest_start A "$WORK/a.sh" $(netdev vnet1 52:54:00:00:00:10)
guest_start B "$WORK/b.sh" $(netdev vnet1 52:54:00:00:00:21)
guest_wait_marker A '^(A-READY|A-WRONG-IP)' 150
echo "A_IP=$(gval A GUEST-IP | cut -d' ' -f1)"

# (a) from the upstream host to the host's uplink address
out=$(tcp_get upstream 198.51.100.2 8080)
echo "$out" | sed 's/^/upstream-get: /' >&2
if grep -q VH-KNOWN-STRING-4711 <<<"$out"; then echo UPSTREAM_GET=yes; else echo UPSTREAM_GET=no; fi
# (b) from the host itself to its own uplink address (OUTPUT DNAT)
out=$(tcp_get - 198.51.100.2 8080)
echo "$out" | sed 's/^/host-get: /' >&2
if grep -q VH-KNOWN-STRING-4711 <<<"$out"; then echo HOST_GET=yes; else echo HOST_GET=no; fi
# ... and to another of its addresses, the bridge's
if tcp_get - 10.200.0.1 8080 | grep -q VH-KNOWN-STRING-4711; then echo HOST_GET_GW=yes; else echo HOST_GET_GW=no; fi
# a forward restricted to one host address: there, and only there
if tcp_get upstream 198.51.100.2 8081 | grep -q VH-KNOWN-STRING-4711; then echo RESTRICTED_GET=yes; else echo RESTRICTED_GET=no; fi
if tcp_get - 10.200.0.1 8081 | grep -q VH-KNOWN-STRING-4711; then echo RESTRICTED_OTHER=yes; else echo RESTRICTED_OTHER=no; fi
# udp forward from upstream: guest A records the datagram and echoes it
out=$(udp_ping upstream 198.51.100.2 5353 hello-udp-4711)
echo "UDP_ECHO=$out"
if guest_wait_marker A 'UDP-RECV .*data=hello-udp-4711' 10 2>/dev/null; then
  echo UDP_RECORDED=yes
  echo "UDP_FROM=$(tr -d '\r' < "$(guest_log A)" | grep -m1 'UDP-RECV .*data=hello-udp-4711' | sed 's/.*from=\([0-9.]*\):.*/\1/')"
else
  echo UDP_RECORDED=no
fi
# (c) hairpin from guest B
guest_wait_marker B '^B-DONE' 150
echo "B_IP=$(gval B GUEST-IP | cut -d' ' -f1)"
echo "HAIRPIN=$(gval B HAIRPIN | cut -d' ' -f1)"
echo "HAIRPIN_GW=$(gval B HAIRPIN-GW)"
for n in web web.vm; do
  echo "RESOLVED_$n=$(gval B "RESOLVED\\[$n\\]")"
done
guest_wait B

# `vnet-helper up` on the running network: a new [[host]] resolves, dnsmasq
# is the same process (SIGHUP, not a restart) and guest A keeps its tap
dm_before=$(our_dnsmasqs); taps_before=$(ls /sys/class/net/vnet1/brif | tr '\n' ' ')
cat >> "$FT_NETS/vnet1.toml" <<'EOF'

[[host]]
mac = "52:54:00:00:00:11"
ip = "10.200.0.11"
name = "db"
EOF
$VH up vnet1 >&2 && echo RELOAD_RC=0 || echo "RELOAD_RC=$?"
ok=no
for i in $(seq 50); do
  if busybox nslookup db.vm 10.200.0.1 2>/dev/null | grep -Eq '^Address:?[[:space:]]+10\.200\.0\.11$'; then ok=yes; break; fi
  sleep 0.1
done
echo "RELOAD_RESOLVES=$ok"
[ "$(our_dnsmasqs)" = "$dm_before" ] && echo DNSMASQ_SAME=yes || echo "DNSMASQ_SAME=no ($dm_before -> $(our_dnsmasqs))"
[ "$(ls /sys/class/net/vnet1/brif | tr '\n' ' ')" = "$taps_before" ] && echo TAPS_SAME=yes || echo TAPS_SAME=no
if tcp_get upstream 198.51.100.2 8080 | grep -q VH-KNOWN-STRING-4711; then echo GET_AFTER_RELOAD=yes; else echo GET_AFTER_RELOAD=no; fi

tell_guest 10.200.0.10 bye
guest_wait A
guest_expect A '^GOT-GO=bye'
"#;

#[test]
fn static_host_and_forwards() {
    if !common::have_root("static_host_and_forwards") {
        return;
    }
    let r = run("static_host_and_forwards", true, STATIC_HOST_AND_FORWARDS);
    let t = transcript(&r);
    assert_eq!(r.status, 0, "script failed\n{t}");
    expect(
        &r,
        "A_IP",
        "10.200.0.10",
        "guest A with the [[host]] MAC gets its fixed IP",
    );
    let b_ip = r.value("B_IP");
    assert!(
        b_ip.starts_with("10.200.0.") && b_ip != "10.200.0.10",
        "guest B: a dynamic lease in the subnet, got {b_ip}\n{t}"
    );
    expect(
        &r,
        "RESOLVED_web",
        "10.200.0.10",
        "guest B resolves `web' via the gateway",
    );
    expect(
        &r,
        "RESOLVED_web.vm",
        "10.200.0.10",
        "guest B resolves `web.vm' via the gateway",
    );
    expect(&r, "UPSTREAM_GET", "yes", "tcp forward from upstream");
    expect(
        &r,
        "HOST_GET",
        "yes",
        "tcp forward from the host itself (OUTPUT DNAT)",
    );
    expect(
        &r,
        "HOST_GET_GW",
        "yes",
        "tcp forward from the host to its bridge address",
    );
    expect(
        &r,
        "HAIRPIN",
        "yes",
        "tcp forward from guest B via the host's address (hairpin)",
    );
    expect(
        &r,
        "HAIRPIN_GW",
        "yes",
        "hairpin through the gateway address",
    );
    expect(
        &r,
        "RESTRICTED_GET",
        "yes",
        "a host-address forward works on that address",
    );
    expect(
        &r,
        "RESTRICTED_OTHER",
        "no",
        "a host-address forward ignores other addresses",
    );
    expect(
        &r,
        "UDP_RECORDED",
        "yes",
        "udp forward: guest A recorded the datagram",
    );
    expect(
        &r,
        "UDP_FROM",
        "198.51.100.1",
        "udp forward keeps the upstream source address",
    );
    expect(
        &r,
        "UDP_ECHO",
        "UDP-ECHO hello-udp-4711",
        "udp forward: the reply comes back",
    );
    expect(&r, "RELOAD_RC", "0", "`vnet-helper up' on an up network");
    expect(
        &r,
        "RELOAD_RESOLVES",
        "yes",
        "a [[host]] added then `up' resolves",
    );
    expect(
        &r,
        "DNSMASQ_SAME",
        "yes",
        "the reload does not restart dnsmasq",
    );
    expect(&r, "TAPS_SAME", "yes", "the reload does not drop the guest");
    expect(
        &r,
        "GET_AFTER_RELOAD",
        "yes",
        "the forward still works after the reload",
    );
}

// ---------------------------------------------------------------------------
// 2. isolated network, side by side with a nat network

const ISOLATED_NETWORK: &str = r#"
upstream_setup
overlay_build
recorder upstream 7000
# a host service on the uplink address, to see whether isolated guests reach it
recorder - 7100
define iso <<'EOF'
mode = "isolated"
address = "10.202.0.1/24"
domain = "iso"
[[host]]
mac = "52:54:00:00:02:10"
ip = "10.202.0.10"
name = "lonely"
EOF
define natb <<'EOF'
mode = "nat"
address = "10.203.0.1/24"
[[host]]
mac = "52:54:00:00:03:10"
ip = "10.203.0.10"
EOF
guest_script "$WORK/i.sh" <<'EOF'
lease
echo "ROUTER-OFFERED=[$DHCP_ROUTER]"
listen9000
if ping -c 2 -W 3 10.202.0.1 >/dev/null 2>&1; then echo "GW-PING=yes"; else echo "GW-PING=no"; fi
if nslookup lonely.iso 10.202.0.1 2>&1 | grep -Eq '^Address:?[[:space:]]+10\.202\.0\.10$'; then echo "DNS=yes"; else echo "DNS=no"; fi
echo I-READY
wait_go 150
# whatever DHCP said, route through the gateway: the host's rules are tested
ip route replace default via 10.202.0.1 dev eth0
if ping -c 2 -W 2 198.51.100.1 >/dev/null 2>&1; then echo "UP-PING=yes"; else echo "UP-PING=no"; fi
echo "UP-TCP=[$(try_tcp 198.51.100.1 7000)]"
echo "PEER-TCP=[$(try_tcp 10.203.0.10 9000)]"
echo "HOSTUPLINK-TCP=[$(try_tcp 198.51.100.2 7100)]"
echo I-DONE
wait_go 150
EOF
guest_script "$WORK/n.sh" <<'EOF'
lease
listen9000
echo N-READY
wait_go 150
echo "UP-TCP=[$(try_tcp 198.51.100.1 7000)]"
echo "PEER-TCP=[$(try_tcp 10.202.0.10 9000)]"
echo N-DONE
wait_go 150
EOF
export GUEST_OVERLAY=$FT_OVERLAY
guest_start I "$WORK/i.sh" $(netdev iso 52:54:00:00:02:10)
guest_start N "$WORK/n.sh" $(netdev natb 52:54:00:00:03:10)
guest_wait_marker I '^I-READY' 150
guest_wait_marker N '^N-READY' 150
for g in I N; do
  echo "${g}_IP=$(gval $g GUEST-IP | cut -d' ' -f1)"
done
echo "I_ROUTER_OFFERED=$(gval I ROUTER-OFFERED)"
echo "I_GW_PING=$(gval I GW-PING)"
echo "I_DNS=$(gval I DNS)"
# positive controls: both listeners answer the host
connect_ok - 10.202.0.10 9000 && echo CONTROL_I=yes || echo CONTROL_I=no
connect_ok - 10.203.0.10 9000 && echo CONTROL_N=yes || echo CONTROL_N=no
tell_guest 10.202.0.10 go
tell_guest 10.203.0.10 go
guest_wait_marker I '^I-DONE' 60
guest_wait_marker N '^N-DONE' 60
echo "I_UP_PING=$(gval I UP-PING)"
echo "I_UP_TCP=$(gval I UP-TCP)"
echo "I_PEER_TCP=$(gval I PEER-TCP)"
echo "I_HOSTUPLINK_TCP=$(gval I HOSTUPLINK-TCP)"
echo "N_UP_TCP=$(gval N UP-TCP)"
echo "N_PEER_TCP=$(gval N PEER-TCP)"
echo "UPSTREAM_SAW=$(sort -u "$WORK/rec.7000" | tr '\n' ' ' | sed 's/ $//')"
tell_guest 10.202.0.10 bye
tell_guest 10.203.0.10 bye
guest_wait I
guest_wait N
"#;

#[test]
fn isolated_network() {
    if !common::have_root("isolated_network") {
        return;
    }
    let r = run("isolated_network", true, ISOLATED_NETWORK);
    let t = transcript(&r);
    assert_eq!(r.status, 0, "script failed\n{t}");
    expect(
        &r,
        "I_IP",
        "10.202.0.10",
        "the isolated guest gets its lease",
    );
    expect(&r, "N_IP", "10.203.0.10", "the nat guest gets its lease");
    expect(
        &r,
        "I_GW_PING",
        "yes",
        "the isolated guest pings its gateway",
    );
    expect(
        &r,
        "I_DNS",
        "yes",
        "the isolated network's DNS answers for its [[host]]",
    );
    expect(
        &r,
        "CONTROL_I",
        "yes",
        "the isolated guest's listener answers the host",
    );
    expect(
        &r,
        "CONTROL_N",
        "yes",
        "the nat guest's listener answers the host",
    );
    expect(
        &r,
        "I_ROUTER_OFFERED",
        "",
        "an isolated network offers no default router",
    );
    expect(
        &r,
        "I_UP_PING",
        "no",
        "the isolated guest cannot ping upstream",
    );
    expect(
        &r,
        "I_UP_TCP",
        "",
        "the isolated guest cannot connect upstream",
    );
    expect(
        &r,
        "I_PEER_TCP",
        "",
        "the isolated guest cannot reach the nat network's guest",
    );
    expect(
        &r,
        "N_PEER_TCP",
        "",
        "the nat guest cannot reach the isolated network's guest",
    );
    expect(
        &r,
        "N_UP_TCP",
        "UPSTREAM-SAW 198.51.100.2",
        "the nat guest reaches upstream (control)",
    );
    expect(
        &r,
        "UPSTREAM_SAW",
        "198.51.100.2",
        "upstream saw only the nat guest",
    );
    // The host's own non-bridge address from an isolated guest: reported, see
    // the report of issue 5 (libvirt allows it too).
    eprintln!(
        "isolated_network: isolated guest -> host's uplink address 198.51.100.2:7100: {:?}",
        r.values("I_HOSTUPLINK_TCP")
    );
}

// ---------------------------------------------------------------------------
// 3. routed network, next to a nat network

const ROUTED_NETWORK: &str = r#"
upstream_setup
overlay_build
ip -n upstream route add 10.201.0.0/24 via 198.51.100.2
recorder upstream 7000
define rt <<'EOF'
mode = "routed"
address = "10.201.0.1/24"
EOF
define natc <<'EOF'
mode = "nat"
address = "10.204.0.1/24"
[[host]]
mac = "52:54:00:00:05:10"
ip = "10.204.0.10"
EOF
# an isolated network too, with a stand-in guest: a netns on a veth port of
# its bridge (the bridge is made by a helper call that keeps its tap)
define isoc <<'EOF'
mode = "isolated"
address = "10.206.0.1/24"
EOF
call_helper --hold 600 "$VH" isoc > "$WORK/isoc.call" 2>&1 &
for i in $(seq 300); do grep -q '^RC=' "$WORK/isoc.call" && break; sleep 0.1; done
grep -qx RC=0 "$WORK/isoc.call" || { cat "$WORK/isoc.call" >&2; exit 1; }
ip netns add fg
ip link add vfg type veth peer name eth0 netns fg
ip link set vfg master isoc
ip link set vfg up
ip -n fg link set lo up
ip -n fg addr add 10.206.0.50/24 dev eth0
ip -n fg link set eth0 up
ip -n fg route add default via 10.206.0.1
guest_script "$WORK/r.sh" <<'EOF'
lease
listen9000
/bin/udprecv 9001 &
echo "UP-TCP=[$(try_tcp 198.51.100.1 7000)]"
echo R-READY
wait_go 150
echo "PEER-TCP=[$(try_tcp 10.204.0.10 9000)]"
echo R-DONE
wait_go 150
EOF
guest_script "$WORK/n.sh" <<'EOF'
lease
listen9000
echo N-READY
wait_go 150
r=$(cat /tmp/go)
echo "PEER-TCP=[$(try_tcp "${r#go }" 9000)]"
echo N-DONE
wait_go 150
EOF
export GUEST_OVERLAY=$FT_OVERLAY
guest_start R "$WORK/r.sh" $(netdev rt 52:54:00:00:04:21)
guest_start N "$WORK/n.sh" $(netdev natc 52:54:00:00:05:10)
guest_wait_marker R '^R-READY' 150
guest_wait_marker N '^N-READY' 150
rip=$(gval R GUEST-IP | cut -d' ' -f1)
echo "R_IP=$rip"
echo "R_UP_TCP=$(gval R UP-TCP)"
echo "UPSTREAM_SAW=$(sort -u "$WORK/rec.7000" | tr '\n' ' ' | sed 's/ $//')"
# routed: the upstream reaches the guest at its own address
connect_ok upstream "$rip" 9000 && echo UPSTREAM_TO_GUEST=yes || echo UPSTREAM_TO_GUEST=no
connect_ok - 10.204.0.10 9000 && echo CONTROL_N=yes || echo CONTROL_N=no
# datagrams to the routed guest: from the isolated network's stand-in guest
# (must not arrive), then from upstream (must: routed lets it in)
for i in 1 2 3; do ip netns exec fg bash -c "echo from-isolated > /dev/udp/$rip/9001" 2>/dev/null || true; done
echo "UPSTREAM_UDP_TO_GUEST=$(udp_ping upstream "$rip" 9001 from-upstream)"
sleep 0.5
tr -d '\r' < "$(guest_log R)" | grep -q 'data=from-isolated' && echo ISOLATED_UDP_TO_GUEST=arrived || echo ISOLATED_UDP_TO_GUEST=none
tell_guest "$rip" go
tell_guest 10.204.0.10 "go $rip"
guest_wait_marker R '^R-DONE' 60
guest_wait_marker N '^N-DONE' 60
echo "R_PEER_TCP=$(gval R PEER-TCP)"
echo "N_PEER_TCP=$(gval N PEER-TCP)"
tell_guest "$rip" bye
tell_guest 10.204.0.10 bye
guest_wait R
guest_wait N
"#;

#[test]
fn routed_network() {
    if !common::have_root("routed_network") {
        return;
    }
    let r = run("routed_network", true, ROUTED_NETWORK);
    let t = transcript(&r);
    assert_eq!(r.status, 0, "script failed\n{t}");
    let ip = r.value("R_IP");
    assert!(
        ip.starts_with("10.201.0."),
        "routed guest's lease: {ip}\n{t}"
    );
    expect(
        &r,
        "R_UP_TCP",
        &format!("UPSTREAM-SAW {ip}"),
        "the routed guest's connection is seen upstream with its own address",
    );
    expect(
        &r,
        "UPSTREAM_SAW",
        &ip,
        "upstream's log: only the guest's own address",
    );
    expect(
        &r,
        "UPSTREAM_TO_GUEST",
        "yes",
        "upstream reaches the routed guest directly",
    );
    expect(
        &r,
        "CONTROL_N",
        "yes",
        "the nat guest's listener answers the host",
    );
    expect(
        &r,
        "UPSTREAM_UDP_TO_GUEST",
        "UDP-ECHO from-upstream",
        "upstream's datagram reaches the routed guest (control)",
    );
    expect(
        &r,
        "R_PEER_TCP",
        "",
        "the routed guest cannot reach the nat network's guest",
    );
    expect(
        &r,
        "N_PEER_TCP",
        "",
        "the nat guest cannot reach the routed network's guest",
    );
    expect(
        &r,
        "ISOLATED_UDP_TO_GUEST",
        "none",
        "a datagram from an isolated network's guest must not reach the routed guest",
    );
}

// ---------------------------------------------------------------------------
// 4. bridged network on a LAN with its own DHCP server; default-route refusal

const BRIDGED_NETWORK: &str = r#"
upstream_setup
overlay_build
# the LAN: netns `lan` behind veth lan0 (host side: no address, no default route)
ip netns add lan
ip link add lan0 type veth peer name eth0 netns lan
ip -n lan link set lo up
ip -n lan addr add 192.168.77.1/24 dev eth0
ip -n lan link set eth0 up
ip link set lan0 up
cat > "$WORK/lan-dnsmasq.conf" <<EOF
interface=eth0
bind-interfaces
port=0
dhcp-range=192.168.77.100,192.168.77.150,255.255.255.0,1h
dhcp-option=option:router,192.168.77.1
dhcp-leasefile=$WORK/lan.leases
pid-file=$WORK/lan.pid
EOF
ip netns exec lan /usr/sbin/dnsmasq --keep-in-foreground --conf-file="$WORK/lan-dnsmasq.conf" 2>"$WORK/lan-dnsmasq.err" &
define lanbr <<'EOF'
mode = "bridged"
uplink = "lan0"
idle-timeout = "2s"
EOF
guest_script "$WORK/l.sh" <<'EOF'
lease
echo "SERVER=[$DHCP_SERVER]"
if ping -c 2 -W 3 192.168.77.1 >/dev/null 2>&1; then echo "LAN-PING=yes"; else echo "LAN-PING=no"; fi
echo L-READY
wait_go 150
EOF
export GUEST_OVERLAY=$FT_OVERLAY
guest_start L "$WORK/l.sh" $(netdev lanbr 52:54:00:00:07:10)
guest_wait_marker L '^L-READY' 150
lip=$(gval L GUEST-IP | cut -d' ' -f1)
echo "L_IP=$lip"
echo "L_ROUTER=$(gval L GUEST-IP | sed -n 's/^[^ ]* ROUTER=//p')"
echo "L_SERVER=$(gval L SERVER)"
echo "L_LAN_PING=$(gval L LAN-PING)"
echo "LAN_LEASE=$(awk '$2 == "52:54:00:00:07:10" { print $3 }' "$WORK/lan.leases")"
echo "LAN0_MASTER=$(master_of lan0)"
echo "OUR_DNSMASQ=$(our_dnsmasqs)"
echo "BRIDGE_V4=$(ip -4 -o addr show dev lanbr | awk '{ print $4 }' | tr '\n' ' ')"
# the host talks to the guest across the bridge only through the LAN: give the
# host no address there; tell the guest to stop through the LAN namespace
ip netns exec lan bash -c "$(declare -f tell_guest); tell_guest $lip bye"
guest_wait L
# after the idle timeout the bridge goes and lan0 is given back, still up
gone=no
for i in $(seq 200); do bridge_exists lanbr || { gone=yes; break; }; sleep 0.1; done
echo "AFTER_BRIDGE_GONE=$gone"
echo "AFTER_LAN0_MASTER=$(master_of lan0)"
echo "AFTER_LAN0_UP=$(( $(cat /sys/class/net/lan0/flags) & 1 ))"

# a bridged definition on the uplink that carries the default route: refused
define badbr <<'EOF'
mode = "bridged"
uplink = "uplink0"
EOF
call_helper "$VH" badbr | sed 's/^/BAD_/'
echo "BAD_UPLINK0_MASTER=$(master_of uplink0)"
bridge_exists badbr && echo BAD_BRIDGE=present || echo BAD_BRIDGE=absent
[ -e /run/vnet-helper/networks/badbr ] && echo BAD_RUNDIR=present || echo BAD_RUNDIR=absent
echo "BAD_DEFAULT_ROUTE=$(ip route show default | head -1 | sed "s/ *$//")"
echo "BAD_UPLINK0_ADDR=$(ip -4 -o addr show dev uplink0 | awk '{ print $4 }')"
"#;

#[test]
fn bridged_network() {
    if !common::have_root("bridged_network") {
        return;
    }
    let r = run("bridged_network", true, BRIDGED_NETWORK);
    let t = transcript(&r);
    assert_eq!(r.status, 0, "script failed\n{t}");
    let ip = r.value("L_IP");
    assert!(
        ip.starts_with("192.168.77.") && r.value("LAN_LEASE") == ip,
        "the guest's lease comes from the LAN's server (guest {ip}, LAN lease file {:?})\n{t}",
        r.values("LAN_LEASE")
    );
    expect(
        &r,
        "L_SERVER",
        "192.168.77.1",
        "the DHCP server is the LAN's",
    );
    expect(
        &r,
        "L_ROUTER",
        "192.168.77.1",
        "the router is the one the LAN says",
    );
    expect(&r, "L_LAN_PING", "yes", "the guest is on the LAN");
    expect(&r, "LAN0_MASTER", "lanbr", "lan0 is enslaved to the bridge");
    expect(
        &r,
        "OUR_DNSMASQ",
        "",
        "vnet-helper started no dnsmasq for a bridged network",
    );
    expect(
        &r,
        "BRIDGE_V4",
        "",
        "a bridged network's bridge has no address",
    );
    // the refusal
    assert_ne!(
        r.value("BAD_RC"),
        "0",
        "bridging the default-route uplink must fail\n{t}"
    );
    expect(&r, "BAD_GOT_FD", "no", "no tap for a refused network");
    let err = r.value("BAD_STDERR");
    assert!(
        err.contains("default route") && err.contains("uplink0"),
        "the refusal names the default route and the uplink: {err:?}\n{t}"
    );
    expect(&r, "BAD_UPLINK0_MASTER", "", "uplink0 is not enslaved");
    expect(
        &r,
        "BAD_BRIDGE",
        "absent",
        "no bridge is made for a refused network",
    );
    expect(
        &r,
        "BAD_RUNDIR",
        "absent",
        "no runtime directory for a refused network",
    );
    expect(
        &r,
        "BAD_DEFAULT_ROUTE",
        "default via 198.51.100.1 dev uplink0",
        "the default route stays",
    );
    expect(
        &r,
        "BAD_UPLINK0_ADDR",
        "198.51.100.2/24",
        "uplink0 keeps its address",
    );
    // the idle teardown (last: a failure here should not hide the rest)
    expect(
        &r,
        "AFTER_BRIDGE_GONE",
        "yes",
        "idle teardown of the bridged network",
    );
    expect(&r, "AFTER_LAN0_MASTER", "", "lan0 released by the teardown");
    expect(&r, "AFTER_LAN0_UP", "1", "lan0 still up after the teardown");
}

// ---------------------------------------------------------------------------
// 5. IPv6 with NAT66

const IPV6_NAT: &str = r#"
upstream_setup
overlay_build
recorder upstream 7000
define v6net <<'EOF'
mode = "nat"
address = "10.205.0.1/24"
ipv6 = "fd42:1:2:3::1/64"
[[host]]
mac = "52:54:00:00:06:10"
ip = "10.205.0.10"
[[forward]]
proto = "tcp"
port = 8080
to = "[fd42:1:2:3::10]:80"
EOF
guest_script "$WORK/v.sh" <<'EOF'
lease
# the router advertisement's default route (bounded wait)
i=0
while ! ip -6 route show default | grep -q via && [ $i -lt 60 ]; do sleep 0.5; i=$((i+1)); done
echo "V6-ROUTE=[$(ip -6 route show default | head -1)]"
# an address in the prefix: SLAAC, or else DHCPv6
i=0
while ! ip -6 addr show dev eth0 scope global | grep -q 'inet6 fd42:1:2:3:' && [ $i -lt 10 ]; do sleep 0.5; i=$((i+1)); done
if ! ip -6 addr show dev eth0 scope global | grep -q 'inet6 fd42:1:2:3:'; then
  # no SLAAC (a stateful DHCPv6 range): ask DHCPv6 (busybox has no udhcpc6)
  if a6=$(/bin/dhcp6c eth0 "$(cat /sys/class/net/eth0/address)"); then
    ip -6 addr add "$a6/64" dev eth0
    echo "VH-DHCP6: bound ipv6=$a6"
  else
    echo "DHCP6-FAILED"
  fi
fi
i=0
while ! ip -6 addr show dev eth0 scope global | grep -q 'inet6 fd42:1:2:3:' && [ $i -lt 40 ]; do sleep 0.5; i=$((i+1)); done
i=0
while ip -6 addr show dev eth0 | grep -q tentative && [ $i -lt 20 ]; do sleep 0.5; i=$((i+1)); done
ip -6 addr show dev eth0
echo "V6-ADDRS=[$(ip -6 addr show dev eth0 scope global | sed -n 's/.*inet6 \([^/ ]*\).*/\1/p' | tr '\n' ' ')]"
if ping -c 2 -W 3 fd42:1:2:3::1 >/dev/null 2>&1; then echo "V6-GW-PING=yes"; else echo "V6-GW-PING=no"; fi
echo "V6-TCP=[$(try_tcp 2001:db8:1::1 7000)]"
# the IPv6 forward's target: fd42:1:2:3::10, a web server
ip -6 addr add fd42:1:2:3::10/64 dev eth0
mkdir -p /www
echo "VH-KNOWN-STRING-V6" > /www/index.html
httpd -p 80 -h /www
i=0
while ip -6 addr show dev eth0 | grep -q tentative && [ $i -lt 20 ]; do sleep 0.5; i=$((i+1)); done
echo V-READY
wait_go 150
EOF
export GUEST_OVERLAY=$FT_OVERLAY
guest_start V "$WORK/v.sh" $(netdev v6net 52:54:00:00:06:10)
guest_wait_marker V '^V-READY' 150
if tcp_get upstream 2001:db8:1::2 8080 | grep -q VH-KNOWN-STRING-V6; then echo V6_FWD_UPSTREAM=yes; else echo V6_FWD_UPSTREAM=no; fi
if tcp_get - 2001:db8:1::2 8080 | grep -q VH-KNOWN-STRING-V6; then echo V6_FWD_HOST=yes; else echo V6_FWD_HOST=no; fi
tell_guest 10.205.0.10 bye
guest_wait V
log=$(guest_log V)
sed 's/^/guest V: /' "$log" >&2
echo "V6_ROUTE=$(gval V V6-ROUTE)"
echo "V6_ADDRS=$(gval V V6-ADDRS | sed 's/ *$//')"
echo "V6_GW_PING=$(gval V V6-GW-PING)"
echo "V6_TCP=$(gval V V6-TCP)"
grep -q '^VH-DHCP6: bound' "$log" && echo V6_BY=dhcpv6 || echo V6_BY=slaac
echo "UPSTREAM_SAW=$(sort -u "$WORK/rec.7000" | tr '\n' ' ' | sed 's/ $//')"
"#;

#[test]
fn ipv6_nat() {
    if !common::have_root("ipv6_nat") {
        return;
    }
    let r = run("ipv6_nat", true, IPV6_NAT);
    let t = transcript(&r);
    assert_eq!(r.status, 0, "script failed\n{t}");
    let addrs = r.value("V6_ADDRS");
    assert!(
        addrs
            .split_whitespace()
            .any(|a| a.starts_with("fd42:1:2:3:")),
        "the guest has an address in fd42:1:2:3::/64: {addrs:?}\n{t}"
    );
    let route = r.value("V6_ROUTE");
    assert!(
        route.starts_with("default via fe80::"),
        "an IPv6 default route from the RA: {route:?}\n{t}"
    );
    expect(
        &r,
        "V6_GW_PING",
        "yes",
        "the guest pings the bridge's IPv6 address",
    );
    expect(
        &r,
        "V6_TCP",
        "UPSTREAM-SAW 2001:db8:1::2",
        "the guest reaches upstream over IPv6, masqueraded behind the uplink address (NAT66)",
    );
    expect(
        &r,
        "UPSTREAM_SAW",
        "2001:db8:1::2",
        "upstream saw only the host's uplink address",
    );
    expect(
        &r,
        "V6_FWD_UPSTREAM",
        "yes",
        "an IPv6 tcp forward from upstream",
    );
    expect(
        &r,
        "V6_FWD_HOST",
        "yes",
        "an IPv6 tcp forward from the host itself",
    );
    eprintln!("ipv6_nat: the guest's address came by {}", r.value("V6_BY"));
}

// ---------------------------------------------------------------------------
// 6. eight networks at once

const EIGHT_NETWORKS: &str = r#"
upstream_setup
overlay_build
recorder upstream 7000
# some rules of the host's own, which must come through untouched
iptables -A INPUT -s 192.0.2.99 -j DROP
iptables -t nat -A POSTROUTING -s 192.0.2.0/24 -j RETURN
ip6tables -A INPUT -s 2001:db8::99 -j DROP
ip6tables -t nat -A POSTROUTING -s 2001:db8::/64 -j RETURN
fw0=$({ iptables-save; ip6tables-save; } | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//')
for n in 1 2 3 4 5 6 7 8; do
  define "vn$n" <<EOF
mode = "nat"
address = "10.210.$n.1/24"
idle-timeout = "2s"
[[host]]
mac = "52:54:00:00:10:0$n"
ip = "10.210.$n.10"
EOF
done
# 8 helper calls at once, as QEMU would make them; each keeps its tap
t0=$EPOCHREALTIME
for n in 1 2 3 4 5 6 7 8; do
  # (python directly, not the call_helper function: $! must be the holder)
  /usr/bin/python3 "$TESTS/tools/fake_qemu.py" --hold 600 "$VH" "vn$n" > "$WORK/call.$n" 2>&1 &
  holders="${holders:-} $!"
done
for n in 1 2 3 4 5 6 7 8; do
  for i in $(seq 600); do grep -q '^RC=' "$WORK/call.$n" && break; sleep 0.1; done
done
echo "CALLS_SECONDS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"
ok=0
for n in 1 2 3 4 5 6 7 8; do
  if grep -qx 'RC=0' "$WORK/call.$n" && grep -qx 'GOT_FD=yes' "$WORK/call.$n"; then ok=$((ok + 1)); else
    echo "--- call $n ---" >&2; cat "$WORK/call.$n" >&2
  fi
done
echo "CALLS_OK=$ok"
nb=0; na=0
for n in 1 2 3 4 5 6 7 8; do
  bridge_exists "vn$n" && nb=$((nb + 1))
  [ "$(ip -4 -o addr show dev "vn$n" 2>/dev/null | awk '{ print $4 }')" = "10.210.$n.1/24" ] && na=$((na + 1))
done
echo "BRIDGES=$nb"
echo "ADDRESSED=$na"
echo "DNSMASQS=$(our_dnsmasqs | wc -w)"
# the firewall: each network's chains declared once, each jump to them once,
# the shared chains once, no rule line twice
save=$(iptables-save)
good=0
for n in 1 2 3 4 5 6 7 8; do
  decl=$(grep -E "^:VNET-vn$n-" <<<"$save" | sort)
  jumps=$(grep -E -- "-j VNET-vn$n-[A-Z]+$" <<<"$save" | grep -v "^-A VNET-vn$n-" | sort)
  if [ "$(wc -l <<<"$decl")" = 6 ] && [ -z "$(uniq -d <<<"$decl")" ] \
     && [ "$(wc -l <<<"$jumps")" = 6 ] && [ -z "$(uniq -d <<<"$jumps")" ]; then
    good=$((good + 1))
  else
    { echo "--- vn$n: declarations"; echo "$decl"; echo "--- vn$n: jumps"; echo "$jumps"; } >&2
  fi
done
echo "CHAINS_ONCE=$good"
echo "SHARED_DECL=$(grep -cE '^:VNET-FW[XIO] ' <<<"$save")"
echo "SHARED_JUMPS=$(grep -cE -- '^-A FORWARD -j VNET-FW[XIO]$' <<<"$save")"
echo "DUP_RULES=$(grep -E '^-[AI] ' <<<"$save" | sort | uniq -d | wc -l)"

# two guests, on vn1 and vn2
guest_script "$WORK/g.sh" <<'EOF'
lease
listen9000
echo G-READY
wait_go 150
peer=$(cat /tmp/go); peer=${peer#go }
echo "PEER-TCP=[$(try_tcp "$peer" 9000)]"
echo "UP-TCP=[$(try_tcp 198.51.100.1 7000)]"
echo G-DONE
wait_go 150
EOF
export GUEST_OVERLAY=$FT_OVERLAY
guest_start G1 "$WORK/g.sh" $(netdev vn1 52:54:00:00:10:01)
guest_start G2 "$WORK/g.sh" $(netdev vn2 52:54:00:00:10:02)
guest_wait_marker G1 '^G-READY' 150
guest_wait_marker G2 '^G-READY' 150
echo "G1_IP=$(gval G1 GUEST-IP | cut -d' ' -f1)"
echo "G2_IP=$(gval G2 GUEST-IP | cut -d' ' -f1)"
connect_ok - 10.210.1.10 9000 && echo CONTROL_G1=yes || echo CONTROL_G1=no
connect_ok - 10.210.2.10 9000 && echo CONTROL_G2=yes || echo CONTROL_G2=no
tell_guest 10.210.1.10 "go 10.210.2.10"
tell_guest 10.210.2.10 "go 10.210.1.10"
guest_wait_marker G1 '^G-DONE' 60
guest_wait_marker G2 '^G-DONE' 60
for g in G1 G2; do
  echo "${g}_PEER_TCP=$(gval $g PEER-TCP)"
  echo "${g}_UP_TCP=$(gval $g UP-TCP)"
done
tell_guest 10.210.1.10 bye
tell_guest 10.210.2.10 bye
guest_wait G1
guest_wait G2
# all 8 networks lose their last tap at once: 8 teardowns side by side
kill $holders
gone=no
for i in $(seq 400); do
  left=0
  for n in 1 2 3 4 5 6 7 8; do ip link show "vn$n" >/dev/null 2>&1 && left=$((left + 1)); done
  [ $left = 0 ] && [ -z "$(our_dnsmasqs)" ] && { gone=yes; break; }
  sleep 0.1
done
echo "TEARDOWN_ALL_GONE=$gone"
sleep 1
fw1=$({ iptables-save; ip6tables-save; } | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//')
if [ "$fw0" = "$fw1" ]; then echo TEARDOWN_FW=same; else echo TEARDOWN_FW=differs; diff <(echo "$fw0") <(echo "$fw1") >&2 || true; fi
"#;

#[test]
fn eight_networks() {
    if !common::have_root("eight_networks") {
        return;
    }
    let r = run("eight_networks", true, EIGHT_NETWORKS);
    let t = transcript(&r);
    assert_eq!(r.status, 0, "script failed\n{t}");
    expect(
        &r,
        "CALLS_OK",
        "8",
        "8 concurrent helper calls on 8 networks all succeed",
    );
    expect(&r, "BRIDGES", "8", "8 bridges");
    expect(&r, "ADDRESSED", "8", "each bridge has its address");
    expect(&r, "DNSMASQS", "8", "one dnsmasq per network");
    expect(
        &r,
        "CHAINS_ONCE",
        "8",
        "each network's chains and jumps exactly once",
    );
    expect(&r, "SHARED_DECL", "3", "the shared chains once");
    expect(
        &r,
        "SHARED_JUMPS",
        "3",
        "one FORWARD jump to each shared chain",
    );
    expect(&r, "DUP_RULES", "0", "no rule twice");
    expect(&r, "G1_IP", "10.210.1.10", "guest on vn1 gets its lease");
    expect(&r, "G2_IP", "10.210.2.10", "guest on vn2 gets its lease");
    expect(
        &r,
        "CONTROL_G1",
        "yes",
        "vn1 guest's listener answers the host",
    );
    expect(
        &r,
        "CONTROL_G2",
        "yes",
        "vn2 guest's listener answers the host",
    );
    expect(
        &r,
        "G1_PEER_TCP",
        "",
        "vn1 guest cannot connect to the vn2 guest",
    );
    expect(
        &r,
        "G2_PEER_TCP",
        "",
        "vn2 guest cannot connect to the vn1 guest",
    );
    expect(
        &r,
        "G1_UP_TCP",
        "UPSTREAM-SAW 198.51.100.2",
        "vn1 guest reaches upstream",
    );
    expect(
        &r,
        "G2_UP_TCP",
        "UPSTREAM-SAW 198.51.100.2",
        "vn2 guest reaches upstream",
    );
    expect(
        &r,
        "TEARDOWN_ALL_GONE",
        "yes",
        "8 networks torn down together: all gone",
    );
    expect(
        &r,
        "TEARDOWN_FW",
        "same",
        "8 teardowns side by side leave the firewall as it was",
    );
    eprintln!(
        "eight_networks: 8 concurrent bring-ups took {} s",
        r.value("CALLS_SECONDS")
    );
}

// ---------------------------------------------------------------------------
// 7. `check` and bring-up refuse bad features, with file and line

/// (network, line of the error, a word the message must contain)
const BAD: [(&str, usize, &str); 5] = [
    ("badhost", 5, "outside"),
    ("badfwd", 6, "outside"),
    ("dupfwd", 11, "overlaps"),
    ("rangefwd", 8, "overlaps"),
    ("mcmac", 3, "multicast"),
];

const CHECK_REFUSES_BAD_FEATURES: &str = r#"
upstream_setup
# fine: the same port for tcp and for udp
define okay <<'EOF'
address = "10.220.9.1/24"
[[host]]
mac = "52:54:00:00:20:09"
ip = "10.220.9.10"
[[forward]]
proto = "tcp"
port = 5000
to = "10.220.9.10:5000"
[[forward]]
proto = "udp"
port = 5000
to = "10.220.9.10:5000"
EOF
define badhost <<'EOF'
address = "10.220.1.1/24"

[[host]]
mac = "52:54:00:00:20:01"
ip = "10.99.0.5"
name = "far"
EOF
define badfwd <<'EOF'
address = "10.220.2.1/24"

[[forward]]
proto = "tcp"
port = 8080
to = "10.99.0.5:80"
EOF
define dupfwd <<'EOF'
address = "10.220.3.1/24"
[[host]]
mac = "52:54:00:00:20:03"
ip = "10.220.3.10"
[[forward]]
proto = "udp"
port = 5000
to = "10.220.3.10:5000"
[[forward]]
proto = "udp"
port = 5000
to = "10.220.3.10:6000"
EOF
# a range that contains another forward's port
define rangefwd <<'EOF'
address = "10.220.5.1/24"
[[forward]]
proto = "tcp"
port = 8005
to = "10.220.5.10:80"
[[forward]]
proto = "tcp"
port = "8000-8010"
to = "10.220.5.11:8000"
EOF
define mcmac <<'EOF'
address = "10.220.4.1/24"
[[host]]
mac = "01:00:5e:00:00:01"
ip = "10.220.4.10"
EOF
fw0=$({ iptables-save; ip6tables-save; } | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//')
rc=0; $AS_USER $VH check > "$WORK/check.out" 2>&1 || rc=$?
echo "CHECK_RC=$rc"
sed 's/^/CHECK=/' "$WORK/check.out"
rc=0; $VH check > "$WORK/check.root" 2>&1 || rc=$?
echo "CHECK_ROOT_RC=$rc"
cmp -s "$WORK/check.out" "$WORK/check.root" && echo CHECK_SAME_AS_ROOT=yes || echo CHECK_SAME_AS_ROOT=no
for n in badhost badfwd dupfwd rangefwd mcmac; do
  call_helper "$VH" "$n" | sed "s/^/CALL_${n}_/"
  bridge_exists "$n" && echo "LEFT_${n}=bridge" || true
  [ -e "/run/vnet-helper/networks/$n" ] && echo "LEFT_${n}=rundir" || true
  [ "$(vnet_lines "$n")" = 0 ] || echo "LEFT_${n}=rules"
done
echo "TAPS=$(ip -o link show type tun | wc -l)"
echo "DNSMASQS=$(our_dnsmasqs | wc -w)"
fw1=$({ iptables-save; ip6tables-save; } | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]//')
[ "$fw0" = "$fw1" ] && echo FIREWALL_UNCHANGED=yes || echo FIREWALL_UNCHANGED=no
# the good one still works
call_helper "$VH" okay | sed 's/^/CALL_okay_/'
"#;

#[test]
fn check_refuses_bad_features() {
    if !common::have_root("check_refuses_bad_features") {
        return;
    }
    let r = run(
        "check_refuses_bad_features",
        false,
        CHECK_REFUSES_BAD_FEATURES,
    );
    let t = transcript(&r);
    assert_eq!(r.status, 0, "script failed\n{t}");
    expect(&r, "CHECK_RC", "1", "check exits 1 on bad definitions");
    expect(&r, "CHECK_ROOT_RC", "1", "check as root exits 1 too");
    let check = r.values("CHECK");
    for (name, line, word) in BAD {
        let loc = format!("/etc/vnet-helper/networks/{name}.toml:{line}:");
        let msg = check
            .iter()
            .find_map(|l| l.find(&loc).map(|i| l[i..].to_string()))
            .unwrap_or_else(|| panic!("check does not report {loc}\n{t}"));
        assert!(
            msg.contains(word),
            "check's message for {name}: {msg:?} lacks {word:?}\n{t}"
        );
        assert!(
            !check
                .iter()
                .any(|l| l.contains(&format!("{name}.toml:")) && !l.contains(&loc)),
            "check reports {name} at another line than {line}\n{t}"
        );
        // bring-up: the same message, nothing created
        assert_ne!(
            r.value(&format!("CALL_{name}_RC")),
            "0",
            "helper call on {name}\n{t}"
        );
        expect(
            &r,
            &format!("CALL_{name}_GOT_FD"),
            "no",
            "no tap for a bad network",
        );
        let err = r.value(&format!("CALL_{name}_STDERR"));
        assert!(
            err.contains(&msg),
            "the helper's refusal of {name} is check's message {msg:?}; got {err:?}\n{t}"
        );
        assert!(
            r.values(&format!("LEFT_{name}")).is_empty(),
            "a refused bring-up of {name} left {:?}\n{t}",
            r.values(&format!("LEFT_{name}"))
        );
    }
    assert!(
        !check.iter().any(|l| l.contains("okay.toml")),
        "check complains about the good definition\n{t}"
    );
    assert!(
        check
            .iter()
            .any(|l| l.contains(&format!("{} problem", BAD.len()))),
        "check counts exactly {} problems\n{t}",
        BAD.len()
    );
    expect(
        &r,
        "CHECK_SAME_AS_ROOT",
        "yes",
        "check says the same as the user and as root",
    );
    expect(&r, "TAPS", "0", "no tap left");
    expect(&r, "DNSMASQS", "0", "no dnsmasq started");
    expect(
        &r,
        "FIREWALL_UNCHANGED",
        "yes",
        "no firewall change from refused networks",
    );
    expect(
        &r,
        "CALL_okay_RC",
        "0",
        "the good network next to them comes up",
    );
    expect(
        &r,
        "CALL_okay_GOT_FD",
        "yes",
        "the good network gives a tap",
    );
}

// ---------------------------------------------------------------------------
// 8. `vnet-helper mac`

fn mac_ok(m: &str) -> bool {
    let parts: Vec<&str> = m.split(':').collect();
    parts.len() == 6
        && parts.iter().all(|p| {
            p.len() == 2
                && p.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        && m.starts_with("52:54:00:")
        && u8::from_str_radix(parts[0], 16).is_ok_and(|b| b & 1 == 0)
}

fn mac_of(args: &[&str]) -> String {
    let out = std::process::Command::new(common::helper_binary())
        .arg("mac")
        .args(args)
        .output()
        .expect("running vnet-helper mac");
    assert!(out.status.success(), "vnet-helper mac {args:?}: {out:?}");
    assert!(
        out.stderr.is_empty(),
        "vnet-helper mac {args:?} wrote to stderr: {out:?}"
    );
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(
        s.ends_with('\n') && s.lines().count() == 1,
        "one line: {s:?}"
    );
    s.trim_end().to_string()
}

#[test]
fn mac_command() {
    let a = mac_of(&["vm1"]);
    assert!(
        mac_ok(&a),
        "`mac vm1` = {a}: 52:54:00:xx:xx:xx, lowercase, unicast"
    );
    for _ in 0..3 {
        assert_eq!(mac_of(&["vm1"]), a, "`mac vm1` is stable");
    }
    let b = mac_of(&["vm2"]);
    assert!(mac_ok(&b), "`mac vm2` = {b}");
    assert_ne!(a, b, "different seeds, different MACs");
    let r1 = mac_of(&[]);
    let r2 = mac_of(&[]);
    assert!(mac_ok(&r1) && mac_ok(&r2), "random MACs {r1} {r2}");
    assert_ne!(
        r1, r2,
        "two random MACs differ (1 in 16M chance of a false failure)"
    );
    if !common::have_root("mac_command (setuid part)") {
        return;
    }
    // through the setuid copy, as an unprivileged user: the same answer
    let r = run(
        "mac_command",
        false,
        r#"echo "MAC=$($AS_USER $VH mac vm1)""#,
    );
    assert_eq!(r.status, 0, "{}", transcript(&r));
    assert_eq!(
        r.value("MAC"),
        a,
        "setuid `mac vm1` as a user gives the same MAC"
    );
}
