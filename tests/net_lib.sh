# tests/net_lib.sh: shell + python helpers for tests/network_bringup.rs (issue 3:
# managed NAT networks brought up by the first attach). Sourced by the sandboxed
# scripts (inside tests/sandbox.sh: private net/mount/pid namespaces, so every
# bridge, rule, sysctl and process seen here is the sandbox's own).
#
# Conventions: functions print KEY=VALUE lines on stdout for the Rust side to
# assert on; diagnostics go to stderr. Nothing here waits without a bound.

NB_LAUNCH="$WORK/nb_launch.py"
NB_NETS=/etc/vnet-helper/networks

# ---------------------------------------------------------------------------
# Definitions and ACL.

# define_net NAME [TOML LINE...]: a root-owned 0644 definition (default:
# address 10.200.0.1/24 only) and `allow NAME` appended to bridge.conf.
define_net() {
  local name=$1; shift
  mkdir -p "$NB_NETS"
  chmod 0755 "$NB_NETS"
  if [ $# -eq 0 ]; then set -- 'address = "10.200.0.1/24"'; fi
  printf '%s\n' "$@" > "$NB_NETS/$name.toml"
  chown root:root "$NB_NETS/$name.toml"
  chmod 0644 "$NB_NETS/$name.toml"
  echo "allow $name" >> /etc/qemu/bridge.conf
}

# ---------------------------------------------------------------------------
# Firewall snapshots.

# foreign_rules: someone else's rules, as on a real host (a fresh network
# namespace has no iptables tables at all).
foreign_rules() {
  iptables -A INPUT -p tcp --dport 22 -j ACCEPT
  iptables -A FORWARD -s 192.0.2.0/24 -j DROP
  iptables -A OUTPUT -d 198.51.100.7/32 -j REJECT
  iptables -t nat -A POSTROUTING -s 198.51.100.0/24 -j RETURN
}

# foreign_kept: yes if every foreign rule is still there, unchanged.
foreign_kept() {
  if iptables -C INPUT -p tcp --dport 22 -j ACCEPT 2>/dev/null &&
     iptables -C FORWARD -s 192.0.2.0/24 -j DROP 2>/dev/null &&
     iptables -C OUTPUT -d 198.51.100.7/32 -j REJECT 2>/dev/null &&
     iptables -t nat -C POSTROUTING -s 198.51.100.0/24 -j RETURN 2>/dev/null; then
    echo yes
  else
    echo no
  fi
}

# fw_norm: iptables-save without comments and with counters zeroed.
fw_norm() {
  iptables-save | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/g'
}

# fw_snapshot FILE: save the normalized ruleset.
fw_snapshot() { fw_norm > "$1"; }

# fw_compare PREFIX REF_FILE: compare the current ruleset with REF_FILE.
# Prints PREFIX_EXACT=same|differs (whole normalized text, order included),
# PREFIX_MULTISET=same|differs (sorted lines), PREFIX_DUPS=<n> (rule lines that
# appear more than once); on a difference the diff goes to stderr.
fw_compare() {
  local p=$1 ref=$2 cur
  cur=$(mktemp "$WORK/fw.XXXXXX")
  fw_norm > "$cur"
  if cmp -s "$cur" "$ref"; then echo "${p}_EXACT=same"; else
    echo "${p}_EXACT=differs"
    { echo "--- $p: ruleset differs from $ref (diff ref cur) ---"; diff "$ref" "$cur" || true; } >&2
  fi
  if [ "$(sort "$cur")" = "$(sort "$ref")" ]; then echo "${p}_MULTISET=same"; else echo "${p}_MULTISET=differs"; fi
  echo "${p}_DUPS=$(fw_dups "$cur")"
  rm -f "$cur"
}

# fw_dups [FILE]: how many distinct rule lines occur more than once.
fw_dups() {
  if [ $# -gt 0 ]; then cat "$1"; else fw_norm; fi | grep -E '^(-A|-I) ' | sort | uniq -d | wc -l
}

# ---------------------------------------------------------------------------
# Processes.

# pids_cmdline_has STRING: pids of live processes whose argv contains an
# argument starting with STRING (zombies have an empty cmdline: not counted).
pids_cmdline_has() {
  local p
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$BASHPID" ] && continue
    tr '\0' '\n' < "$p/cmdline" 2>/dev/null |
      awk -v w="$1" 'index($0, w) == 1 { f = 1 } END { exit !f }' && echo "${p#/proc/}"
  done
}

# dnsmasq_pids NAME: dnsmasq processes of network NAME (cmdline has
# --conf-file=/run/vnet-helper/networks/NAME/...).
dnsmasq_pids() { pids_cmdline_has "--conf-file=/run/vnet-helper/networks/$1/" | sort -n | tr '\n' ' ' | sed 's/ $//'; }

# all_dnsmasq_pids: every dnsmasq in the sandbox, whatever its config.
all_dnsmasq_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = dnsmasq ] && echo "${p#/proc/}"
  done | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# supervisor_pids NAME: processes whose argv is [*, supervise, NAME].
supervisor_pids() {
  local p args
  for p in /proc/[0-9]*; do
    args=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null) || continue
    case "$args" in
      *" supervise $1 ") echo "${p#/proc/}" ;;
    esac
  done | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# master_of IFACE: the bridge IFACE is a port of ("none" if none).
master_of() { basename "$(readlink "/sys/class/net/$1/master" 2>/dev/null || echo none)"; }

# count WORDS...: number of words.
count() { echo $#; }

# proc_status_field PID FIELD: a /proc/PID/status value (first word).
proc_status_field() { awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status"; }

# sig_bit MASKHEX SIGNUM: 1 if the signal's bit is set in a /proc mask.
sig_bit() { echo $(( (0x$1 >> ($2 - 1)) & 1 )); }

# nofile_soft PID: soft "Max open files" of a process.
nofile_soft() { awk '/^Max open files/ { print $4 }' "/proc/$1/limits"; }

# proc_sid PID / proc_nice PID: /proc/PID/stat fields 6 and 19 (after comm).
proc_stat_field() { sed 's/^.*) //' "/proc/$1/stat" | awk -v n="$2" '{ print $(n - 2) }'; }
proc_sid() { proc_stat_field "$1" 6; }
proc_nice() { proc_stat_field "$1" 19; }

# vh_pids: processes running the installed helper (supervisors included).
vh_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = "$VH" ] && echo "${p#/proc/}"
  done | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# iptables_pids: running iptables/xtables programs (e.g. orphans of a killed
# helper).
iptables_pids() {
  local p
  for p in /proc/[0-9]*; do
    case "$(cat "$p/comm" 2>/dev/null)" in
      iptables*|ip6tables*|xtables*) echo "${p#/proc/}" ;;
    esac
  done | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# unreachable_chains: VNET chains that no rule jumps to (any table).
unreachable_chains() {
  local save c
  save=$(iptables-save)
  for c in $(printf '%s\n' "$save" | grep -o '^:VNET[^ ]*' | sed 's/^://'); do
    printf '%s\n' "$save" | grep -q -E -- "-j $c( |\$)" || echo "$c"
  done | tr '\n' ' ' | sed 's/ $//'
}

# listening_udp PORT: yes if some socket is bound to UDP PORT (any address).
listening_udp() {
  awk -v port="$(printf '%04X' "$1")" 'NR > 1 { split($2, a, ":"); if (a[2] == port) f = 1 }
    END { print (f ? "yes" : "no") }' /proc/net/udp
}

# ---------------------------------------------------------------------------
# State reports.

# net_state NAME [PREFIX]: what exists of network NAME, as KEY=VALUE lines.
net_state() {
  local n=$1 p=${2:-} dm sv
  if ip link show "$n" >/dev/null 2>&1; then echo "${p}BRIDGE=present"; else echo "${p}BRIDGE=absent"; fi
  echo "${p}NBRIDGES=$(ip -o link show type bridge | wc -l)"
  if [ -d "/sys/class/net/$n/brif" ]; then
    echo "${p}PORTS=$(ls "/sys/class/net/$n/brif" | sort | tr '\n' ' ' | sed 's/ $//')"
    echo "${p}NPORTS=$(ls "/sys/class/net/$n/brif" | wc -l)"
  else
    echo "${p}PORTS="; echo "${p}NPORTS=0"
  fi
  echo "${p}ADDR=$(ip -4 -o addr show dev "$n" 2>/dev/null | awk '{ print $4 }' | tr '\n' ' ' | sed 's/ $//')"
  echo "${p}STP=$(ip -d link show "$n" 2>/dev/null | grep -o 'stp_state [0-9]*' | awk '{ print $2 }')"
  echo "${p}FWD_DELAY=$(ip -d link show "$n" 2>/dev/null | grep -o 'forward_delay [0-9]*' | awk '{ print $2 }')"
  echo "${p}IP_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward)"
  dm=$(dnsmasq_pids "$n"); sv=$(supervisor_pids "$n")
  echo "${p}DNSMASQ_PIDS=$dm"
  echo "${p}NDNSMASQ=$(count $dm)"
  echo "${p}NDNSMASQ_ANY=$(count $(all_dnsmasq_pids))"
  echo "${p}SUPERVISOR_PIDS=$sv"
  echo "${p}NSUPERVISOR=$(count $sv)"
  echo "${p}CHAINS=$(iptables-save | grep -o '^:VNET[^ ]*' | sed 's/^://' | sort | tr '\n' ' ' | sed 's/ $//')"
  echo "${p}NVNET_LINES=$(iptables-save | grep -c 'VNET' || true)"
  echo "${p}DUPS=$(fw_dups)"
  echo "${p}FOREIGN_KEPT=$(foreign_kept)"
  if [ -d "/run/vnet-helper/networks/$n" ]; then echo "${p}RUNDIR=present"; else echo "${p}RUNDIR=absent"; fi
  if [ -d "/var/lib/vnet-helper/networks/$n" ]; then echo "${p}LIBDIR=present"; else echo "${p}LIBDIR=absent"; fi
  if [ -e "/run/vnet-helper/networks/$n/up" ]; then echo "${p}UP_MARKER=present"; else echo "${p}UP_MARKER=absent"; fi
}

# nothing NAME PREFIX: what is left of NAME after a refusal or a teardown, to
# compare with nothing at all (the firewall with the baseline $WORK/fw.base).
nothing() {
  net_state "$1" "$2"
  fw_compare "${2}FW" "$WORK/fw.base"
  echo "${2}NVH_PROCS=$(count $(vh_pids))"
  if [ -e /run/vnet-helper ]; then echo "${2}RUN_TOP=present"; else echo "${2}RUN_TOP=absent"; fi
}

# proc_report PID PREFIX: identity, environment, limits, signals, session.
proc_report() {
  local pid=$1 p=$2 ign blk
  echo "${p}EXE=$(readlink "/proc/$pid/exe")"
  echo "${p}USER=$(stat -c %U "/proc/$pid")"
  echo "${p}UIDS=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$pid/status")"
  echo "${p}ARGS=$(tr '\0' ' ' < "/proc/$pid/cmdline" | sed 's/ $//')"
  echo "${p}ENV_BYTES=$(wc -c < "/proc/$pid/environ")"
  echo "${p}NOFILE_SOFT=$(nofile_soft "$pid")"
  ign=$(proc_status_field "$pid" SigIgn); blk=$(proc_status_field "$pid" SigBlk)
  echo "${p}SIGTERM_IGNORED=$(sig_bit "$ign" 15)"
  echo "${p}SIGTERM_BLOCKED=$(sig_bit "$blk" 15)"
  echo "${p}SIGBLK=$blk"
  echo "${p}SID=$(proc_sid "$pid")"
  echo "${p}NICE=$(proc_nice "$pid")"
  echo "${p}CWD=$(readlink "/proc/$pid/cwd")"
  if $AS_USER kill -0 "$pid" 2>/dev/null; then echo "${p}KILLABLE_BY_CALLER=yes"; else echo "${p}KILLABLE_BY_CALLER=no"; fi
}

# dump_state NAME: everything useful for a failure, on stderr.
dump_state() {
  {
    echo "===== state of $1 ====="
    ip -d link show 2>&1 | grep -E '^[0-9]+:|bridge |stp_state' || true
    ip -4 addr 2>&1 || true
    ps -eo pid,ppid,user,sid,stat,args 2>&1 || true
    iptables-save 2>&1 || true
    ls -la /run/vnet-helper "/run/vnet-helper/networks/$1" /var/lib/vnet-helper 2>&1 || true
    for f in /run/vnet-helper/networks/"$1"/*; do [ -f "$f" ] && { echo "-- $f"; head -c 2000 "$f"; }; done 2>/dev/null || true
    echo "===== end of state ====="
  } >&2
}

# wait_for SECONDS CMD...: poll CMD every 20 ms until it succeeds; 1 on timeout.
wait_for() {
  local limit=$1; shift
  local end=$((SECONDS + limit + 1))
  while ! "$@"; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.02
  done
}

# ---------------------------------------------------------------------------
# nb_launch.py: QEMU-like launcher with what fake_qemu.py lacks: N calls
# released at the same instant, SIGKILL of the helper after a delay, and a
# fully hostile caller. Written into $WORK when this file is sourced.
[ -e "$NB_LAUNCH" ] || cat > "$NB_LAUNCH" <<'PY'
#!/usr/bin/python3
"""nb_launch.py [OPTIONS] HELPER BRIDGE

Forks N children that each hold one end of a socketpair(AF_UNIX, SOCK_STREAM)
and wait on a pipe; when all are forked the pipe is closed and they exec
HELPER --use-vnet --fd=3 --br=BRIDGE as uid/gid 4242 (no groups) at once.
Then receives the fds (QEMU's 1-byte recvmsg), reaps the children and prints:
  CALL=i RC=<rc|-SIG> GOT_FD=yes|no TAP=<name> MS=<exec to exit> STDERR=<...>
  N_OK=<RC 0 and an fd>  N_DISTINCT_TAPS=<n>  TAPS=<names>  ELAPSED_MS=<max>
Options:
  --n N                 number of simultaneous calls (1)
  --kill-after MS       SIGKILL the helper (only it) MS ms after releasing it;
                        prints KILLED=yes|no (no: it had exited already)
  --hostile DIR         the caller from hell: PATH=DIR first, LD_PRELOAD,
                        LD_LIBRARY_PATH, XTABLES_LIBDIR, RUST_*, IFS, ...;
                        soft RLIMIT_NOFILE 12 (--nofile N), soft RLIMIT_FSIZE 0, fds 0-2
                        closed, SIGTERM ignored and blocked, nice 19,
                        umask 077, own session, cwd DIR
  --hostile-skip LIST   comma-separated hostile traits to leave out (to
                        find which one a failure needs): env, nofile, fsize,
                        closestd, sigterm, nice, umask, setsid, cwd
  --stop-as-caller      a child running as uid 4242 (the caller) waits until
                        the helper runs as root (/proc/PID/status), then
                        sends it SIGSTOP in a loop until the kernel allows
                        it, i.e. as soon as the helper is the caller's again
                        (prints STOPPED=yes|no, STOP_TRIES=); the helper is
                        then left stopped until the hold command has run,
                        and killed afterwards
  --hold-cmd CMD        run CMD with bash while every received fd is held
                        (TAPS, CALLER_PIDS exported); prints HOLD_RC=
  --timeout S           per-call deadline (30)
"""
import array, fcntl, os, random, resource, signal, socket, struct, subprocess, sys, time

TUNGETIFF = 0x800454D2

def main():
    a = sys.argv[1:]
    n, kill_after, hostile, hold_cmd, timeout = 1, None, None, None, 30.0
    skip = set()
    nofile = 12
    stop_as_caller = False
    while a and a[0].startswith("--"):
        o = a.pop(0)
        if o == "--n": n = int(a.pop(0))
        elif o == "--kill-after": kill_after = float(a.pop(0))
        elif o == "--hostile": hostile = a.pop(0)
        elif o == "--nofile": nofile = int(a.pop(0))
        elif o == "--stop-as-caller": stop_as_caller = True
        elif o == "--hostile-skip": skip = set(a.pop(0).split(","))
        elif o == "--hold-cmd": hold_cmd = a.pop(0)
        elif o == "--timeout": timeout = float(a.pop(0))
        else: sys.exit("nb_launch.py: unknown option " + o)
    helper, bridge = a
    work = os.environ["WORK"]
    if hostile and "env" not in skip:
        env = {
            "PATH": hostile + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            # the nonexistent one of the brief, and a real library whose
            # constructor leaves a pwned-* file in any process that loads it
            "LD_PRELOAD": "/nonexistent/evil.so " + hostile + "/evil.so",
            "LD_LIBRARY_PATH": hostile,
            "LD_AUDIT": hostile + "/evil.so",
            # iptables honours XTABLES_LIBDIR and dlopens extensions from it
            # (it holds copies of evil.so named like the extensions we need);
            # under $WORK, not /tmp: the sandbox's /tmp is the host's
            "XTABLES_LIBDIR": hostile + "/xtables",
            "RUST_BACKTRACE": "1", "RUST_LOG": "trace", "RUST_MIN_STACK": "1",
            "IFS": "/\n\t =garbage", "HOME": hostile, "TMPDIR": hostile,
            "SHELL": hostile + "/sh", "BASH_ENV": hostile + "/bashenv",
            "ENV": hostile + "/bashenv", "GCONV_PATH": hostile,
            "LANG": "\xff\xfegarbage.UTF-99", "LC_ALL": "../../../" + hostile + "/evil",
            "NLSPATH": hostile + "/%N", "LOCPATH": hostile, "MALLOC_CHECK_": "3",
            "SYSTEMD_IGNORE_CHROOT": "1", "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=" + hostile + "/bus",
        }
    else:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    go_r, go_w = os.pipe()
    devnull = os.open("/dev/null", os.O_RDWR)
    calls = []
    for i in range(n):
        p, c = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        errpath = "%s/nb_err.%d.%d" % (work, os.getpid(), i)
        errfd = os.open(errpath, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        os.unlink(errpath)
        pid = os.fork()
        if pid == 0:
            try:
                os.close(go_w)
                p.close()
                os.read(go_r, 1)            # EOF when the parent releases all
                hs = os.dup2(c.fileno(), 250, inheritable=True)
                he = os.dup2(errfd, 251, inheritable=True)
                os.dup2(hs, 3, inheritable=True)
                if hostile and "closestd" not in skip:
                    for fd in (0, 1, 2):
                        os.close(fd)
                else:
                    os.dup2(devnull, 0, inheritable=True)
                    os.dup2(he, 1, inheritable=True)
                    os.dup2(he, 2, inheritable=True)
                os.closerange(4, 4096)
                if hostile:
                    on = lambda t: t not in skip
                    if on("setsid"): os.setsid()
                    if on("cwd"): os.chdir(hostile)
                    if on("umask"): os.umask(0o077)
                    if on("nice"): os.nice(19)
                    if on("sigterm"):
                        signal.signal(signal.SIGTERM, signal.SIG_IGN)
                        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGHUP})
                    # Soft limits only: root in these sandboxes has no
                    # CAP_SYS_RESOURCE, so a lowered hard limit could not be
                    # raised back by the helper for its children anyway.
                    if on("nofile"):
                        _, h = resource.getrlimit(resource.RLIMIT_NOFILE)
                        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, h))
                    if on("fsize"):
                        _, h = resource.getrlimit(resource.RLIMIT_FSIZE)
                        resource.setrlimit(resource.RLIMIT_FSIZE, (0, h))
                os.setgroups([])
                os.setgid(4242)
                os.setuid(4242)
                os.execve(helper, [helper, "--use-vnet", "--fd=3", "--br=" + bridge], env)
            finally:
                os._exit(127)
        c.close()
        calls.append(dict(i=i, pid=pid, sock=p, errfd=errfd))
    os.close(go_r)
    t0 = time.monotonic()
    os.close(go_w)                          # go
    killed = None
    if stop_as_caller:
        # as the caller: kill(helper, SIGSTOP) until it is permitted, i.e.
        # until the helper runs with the caller's uid again; report how it went
        rp, wp = os.pipe()
        k = os.fork()
        if k == 0:
            os.close(rp)
            os.setgroups([]); os.setgid(4242); os.setuid(4242)
            tries, ok, end = 0, False, time.monotonic() + timeout
            pid = calls[0]["pid"]
            while time.monotonic() < end:   # wait for the root phase
                try:
                    with open("/proc/%d/status" % pid) as f:
                        st = dict(l.split(":", 1) for l in f if ":" in l)
                    uid, pstate = st["Uid"].split()[0], st["State"].split()[0]
                except (OSError, KeyError, IndexError):
                    break
                if uid == "0" or pstate in ("Z", "X"):
                    break
            while time.monotonic() < end:
                tries += 1
                try:
                    os.kill(calls[0]["pid"], signal.SIGSTOP)
                    ok = True
                    break
                except PermissionError:
                    continue
                except ProcessLookupError:
                    break
            os.write(wp, ("%s %d" % ("yes" if ok else "no", tries)).encode())
            os._exit(0)
        os.close(wp)
        res = os.read(rp, 100).decode().split()
        os.waitpid(k, 0)
        # stopped (or exited/zombie already)? SIGSTOP takes effect
        # asynchronously: look for up to a second
        state, t_end = "?", time.monotonic() + 1
        while time.monotonic() < t_end:
            try:
                with open("/proc/%d/stat" % calls[0]["pid"]) as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                state = "gone"
            if state in ("T", "Z", "gone"):
                break
            time.sleep(0.005)
        print("STOPPED=%s" % ("yes" if res[0] == "yes" and state == "T" else "no"))
        print("STOP_TRIES=%s" % res[1])
        print("STOP_STATE=%s" % state)
        sys.stdout.flush()
        if hold_cmd:
            e = dict(os.environ, STOPPED_PID=str(calls[0]["pid"]))
            r = subprocess.run(["/bin/bash", "-c", hold_cmd], env=e)
            print("HOLD_RC=%d" % r.returncode)
            sys.stdout.flush()
            hold_cmd = None
        try:
            os.kill(calls[0]["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
    if kill_after is not None:
        time.sleep(kill_after / 1000.0)
        wpid, st = os.waitpid(calls[0]["pid"], os.WNOHANG)
        if wpid == 0:
            os.kill(calls[0]["pid"], signal.SIGKILL)
            killed = True
        else:
            calls[0]["status"] = st
            calls[0]["t_exit"] = time.monotonic()
            killed = False
    deadline = t0 + timeout
    for c in calls:
        s = c["sock"]
        s.settimeout(max(0.1, deadline - time.monotonic()))
        fd = None
        try:
            data, anc, _f, _a = s.recvmsg(1, socket.CMSG_SPACE(4))
            for level, typ, cdata in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    fds = array.array("i")
                    fds.frombytes(cdata[: len(cdata) - len(cdata) % 4])
                    fd = fds[0] if len(fds) else None
        except (socket.timeout, OSError):
            pass
        c["fd"] = fd
    for c in calls:
        if "status" not in c:
            while True:
                wpid, st = os.waitpid(c["pid"], os.WNOHANG)
                if wpid:
                    c["status"], c["t_exit"] = st, time.monotonic()
                    break
                if time.monotonic() > deadline:
                    os.kill(c["pid"], signal.SIGKILL)
                    os.waitpid(c["pid"], 0)
                    c["status"], c["t_exit"] = None, time.monotonic()
                    break
                time.sleep(0.002)
    taps = []
    n_ok = 0
    for c in calls:
        st = c["status"]
        rc = "timeout" if st is None else os.waitstatus_to_exitcode(st)
        name = ""
        if c["fd"] is not None:
            try:
                ifr = fcntl.ioctl(c["fd"], TUNGETIFF, b"\0" * 40)
                name = ifr[:16].split(b"\0", 1)[0].decode()
            except OSError as e:
                name = "TUNGETIFF-failed:" + e.strerror
            taps.append(name)
        if rc == 0 and c["fd"] is not None:
            n_ok += 1
        os.lseek(c["errfd"], 0, 0)
        err = os.read(c["errfd"], 65536).decode(errors="replace")
        lines = [l for l in err.split("\n") if l]
        c["ms"] = (c["t_exit"] - t0) * 1000
        print("CALL=%d RC=%s GOT_FD=%s TAP=%s MS=%.1f STDERR=%s" % (
            c["i"], rc, "yes" if c["fd"] is not None else "no", name, c["ms"], " | ".join(lines)))
        c["rc"], c["stderr"], c["nlines"] = rc, " | ".join(lines), len(lines)
    if n == 1:
        c = calls[0]
        print("RC=%s" % c["rc"])
        print("GOT_FD=%s" % ("yes" if c["fd"] is not None else "no"))
        print("TAP=%s" % (taps[0] if taps else ""))
        print("STDERR=%s" % c["stderr"])
        print("STDERR_LINES=%d" % c["nlines"])
        print("CALLER_PID=%d" % c["pid"])
    if killed is not None:
        print("KILLED=%s" % ("yes" if killed else "no"))
    print("N_OK=%d" % n_ok)
    print("N_DISTINCT_TAPS=%d" % len(set(t for t in taps if t)))
    print("TAPS=%s" % " ".join(sorted(taps)))
    print("RCS=%s" % " ".join(sorted(set(str(c["rc"]) for c in calls))))
    print("ELAPSED_MS=%.1f" % max(c["ms"] for c in calls))
    sys.stdout.flush()
    if hold_cmd:
        e = dict(os.environ, TAPS=" ".join(taps),
                 CALLER_PIDS=" ".join(str(c["pid"]) for c in calls))
        r = subprocess.run(["/bin/bash", "-c", hold_cmd], env=e)
        print("HOLD_RC=%d" % r.returncode)
        sys.stdout.flush()
    for c in calls:
        if c["fd"] is not None:
            os.close(c["fd"])
        c["sock"].close()

main()
PY
chmod 0755 "$NB_LAUNCH"

# launch [OPTIONS] NAME: nb_launch.py with $VH (see its docstring above).
launch() { /usr/bin/python3 "$NB_LAUNCH" "${@:1:$#-1}" "$VH" "${@: -1}"; }

# Every function above is exported, so that --hold-cmd scripts (new bash
# processes) can use them.
export -f $(declare -F | awk '{ print $3 }')
