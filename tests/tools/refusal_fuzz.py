#!/usr/bin/python3
"""refusal_fuzz.py SEED COUNT: "a refused call creates nothing", fuzzed (run
by tests/scripts/bringup/refused_calls_create_nothing_fuzz.sh as root in the
sandbox). COUNT calls of the setuid $VH as uid 4242, each with either a
mutated definition of vnet0 (from the README's example and a few small ones)
or a random argument vector (around the protocol and the subcommands).
bridge.conf allows vnet0. After each refused call (exit != 0, no fd) the
sandbox must be as before: no interface but lo, no iptables rule or chain of
ours, no process of ours, no runtime directory of a network or supervisor
(lock files may stay: they are created before the definition is read and are
empty). A call that succeeds (a valid definition) is torn down with
`vnet-helper down --force vnet0` and the same is checked. Prints
  BAD<TAB>i<TAB>what is left<TAB>the input (repr)     for every leftover
  STATS<TAB>calls<TAB>refused<TAB>granted<TAB>other-ok<TAB>seconds
"""
import os, sys, random, socket, subprocess, time, re, tempfile

VH = os.environ["VH"]
REPO = os.environ["REPO"]
DEF = "/etc/vnet-helper/networks/vnet0.toml"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
MYPIDS = set()

readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
EXAMPLE = readme.split("```toml\n", 1)[1].split("```", 1)[0].encode()
SEEDS = [
    EXAMPLE,
    b'address = "10.200.0.1/24"\n',
    b'mode = "isolated"\naddress = "10.201.0.1/24"\n',
    b'address = "10.202.0.1/24"\ndhcp = false\ndns = false\n',
    b'mode = "routed"\naddress = "10.203.0.1/24"\n',
]
TOKENS = [b"=", b'"', b"\n", b"[[host]]", b"[[forward]]", b"address", b"10.200.0.1/24",
          b"mode", b"bridged", b"uplink", b"lo", b"eth0", b"vnet0", b"port", b"0", b"65536",
          b"-1", b"\x00", b"\x1b[2J", b"\xe2\x80\xa8", b"'''", b"#", b"dhcp-range", b"mtu",
          b"idle-timeout", b"never", b"1h", b"ipv6", b"fd42::1/64", b"::", b"0.0.0.0/0"]
WORDS = ["--use-vnet", "--br=vnet0", "--fd={fd}", "--br=", "--fd=", "--br=vnet0 ", "--br=-x",
         "--fd=+{fd}", "--fd=-1", "--fd=99999999999", "--fd=0", "--fd=1", "--fd=2", "status",
         "--json", "up", "down", "--force", "check", "mac", "supervise", "guard", "vnet0",
         "help", "-h", "--help", "-V", "--version", "--br=lo", "--br=all", "--br=\x1b[2J",
         "--br=br0\u2028", "x" * 300, "", "-", "--", "--br=../x"]


def mutate(rng, data):
    v = bytearray(data)
    for _ in range(rng.randrange(1, 8)):
        at = rng.randrange(len(v) + 1)
        op = rng.randrange(6)
        if op == 0:
            v[at:at] = bytes([rng.randrange(256)])
        elif op == 1 and at < len(v):
            del v[at:at + rng.randrange(1, 20)]
        elif op == 2 and at < len(v):
            v[at] = rng.randrange(256)
        elif op in (3, 4):
            v[at:at] = rng.choice(TOKENS)
        else:
            # swap two lines
            lines = bytes(v).split(b"\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            v = bytearray(b"\n".join(lines))
    return bytes(v)


def write_def(text):
    os.makedirs(os.path.dirname(DEF), exist_ok=True)
    with open(DEF, "wb") as f:
        f.write(text)
    os.chmod(DEF, 0o644)


def call(argv):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    # An argument is a C string: it ends at a NUL.
    args = [VH.encode()] + [w.replace("{fd}", str(b.fileno())).encode("utf-8", "surrogateescape")
                            .split(b"\0")[0] for w in argv]
    # stderr to a file, as QEMU's own stderr would be: a pipe read only after the
    # helper exits makes a refusal wait for the reader (src/output.rs, hand_over_stderr)
    errf = tempfile.TemporaryFile()
    p = subprocess.Popen(args,
                         pass_fds=(b.fileno(),), user=4242, group=4242, extra_groups=[],
                         cwd="/", env=ENV, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=errf)
    b.close()
    a.settimeout(30)
    fds = []
    try:
        _, fds, _, _ = socket.recv_fds(a, 16, 8)
    except (socket.timeout, OSError):
        pass
    timed_out = False
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        timed_out = True
    errf.seek(0)
    err = errf.read()
    errf.close()
    if timed_out:
        err += b" (TIMEOUT)"
    for fd in fds:
        os.close(fd)
    a.close()
    return p.returncode, len(fds), err


def leftovers():
    """What a refused call must not leave behind."""
    left = []
    links = sorted(set(os.listdir("/sys/class/net")) - {"lo"})
    if links:
        left.append("links %s" % links)
    fw = subprocess.run(["iptables-save"], capture_output=True, env=ENV).stdout
    if b"VNET" in fw:
        left.append("iptables: %d VNET lines" % fw.count(b"VNET"))
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) in MYPIDS:
            continue
        try:
            comm = open("/proc/%s/comm" % pid).read().strip()
        except OSError:
            continue
        if comm in ("dnsmasq", "vnet-helper"):
            left.append("process %s %s" % (pid, comm))
    for d in ("/run/vnet-helper/networks", "/run/vnet-helper/supervisors"):
        if os.path.isdir(d) and os.listdir(d):
            left.append("%s: %s" % (d, sorted(os.listdir(d))))
    return left


def down():
    subprocess.run([VH, "down", "--force", "vnet0"], env=ENV, capture_output=True, timeout=60)


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    MYPIDS.update({os.getpid(), os.getppid()})
    with open("/etc/qemu/bridge.conf", "w") as f:
        f.write("allow vnet0\n")
    os.chmod("/etc/qemu/bridge.conf", 0o644)
    t0 = time.monotonic()
    refused = granted = other = 0
    for i in range(count):
        if rng.random() < 0.6:
            text = mutate(rng, rng.choice(SEEDS))
            argv = ["--use-vnet", "--fd={fd}", "--br=vnet0"]
        else:
            text = SEEDS[1]
            argv = [rng.choice(WORDS) for _ in range(rng.randrange(0, 5))]
            if rng.random() < 0.3:
                argv = [mutate(rng, w.encode()).decode("utf-8", "surrogateescape") for w in argv]
        write_def(text)
        rc, nfds, err = call(argv)
        if rc != 0 and nfds == 0:
            refused += 1
        elif nfds:
            granted += 1
        else:
            other += 1
        if rc == 0 or nfds:
            down()
        left = leftovers()
        if left:
            print("BAD\t%d\t%s\t%r %r rc=%d fds=%d err=%r" % (i, "; ".join(left), argv, text, rc, nfds, err[:300]), flush=True)
            down()
            subprocess.run(["iptables", "-F"], env=ENV)
    print("STATS\t%d\t%d\t%d\t%d\t%.1f" % (count, refused, granted, other, time.monotonic() - t0), flush=True)


main()
