#!/usr/bin/python3
"""acl_fuzz.py CASES_FILE: the differential fuzzer's runner (tests/acl_compat.rs,
`differential_fuzz`). Runs as root inside the sandbox, where the bridges
already exist. CASES_FILE has one configuration per line, written by the Rust
side:
  C<TAB>index<TAB>file;file;...<TAB>bridge,bridge,...
  file = hex(path):hex(content):mode (octal), or hex(path):D for a directory
(every byte string hex-encoded, so any byte can be in a path, a line or a
bridge name). For each configuration: wipe /etc/qemu, create its files (root
owned), then call $REF and $VH for each bridge, as the caller uid 4242 would,
both at once (they only read the files), and print one line per call pair:
  R<TAB>index<TAB>bridge-index<TAB>REF class<TAB>REF rc<TAB>VH class<TAB>VH rc<TAB>VH stderr<TAB>REF stderr
Classes: granted (exit 0, one fd, the tap on that bridge), denied ("access
denied by acl file"), parse-error ("failed to parse"), failed (another
refusal), crash (killed by a signal), timeout, BROKEN(...)."""
import os, sys, socket, subprocess, fcntl, shutil, time, resource, tempfile

REF = os.environ["REF"]
VH = os.environ["VH"]
TIMEOUT = 5.0
# qemu-bridge-helper on an include cycle can take minutes (it rereads every
# file below the cycle at each of ~2000 levels before its stack overflows):
# cut it short, our side of such a case is "include cycle".
REF_TIMEOUT = 1.0
TUNGETIFF = 0x800454d2
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
ETC = "/etc/qemu"

# As many descriptors as allowed: qemu-bridge-helper then meets an include
# cycle with a stack overflow (SIGSEGV) at once, rather than by recursing
# until fopen fails (and going on from there, exponentially for some cycles).
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def clean():
    for n in os.listdir(ETC):
        p = os.path.join(ETC, n)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p)
        else:
            os.unlink(p)


def setup(files):
    for f in files:
        parts = f.split(":")
        path = bytes.fromhex(parts[0])
        if parts[1] == "D":
            os.makedirs(path, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(bytes.fromhex(parts[1]))
        os.chmod(path, int(parts[2], 8))


def start(helper, bridge):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    args = [helper.encode(), b"--use-vnet", b"--fd=%d" % b.fileno(), b"--br=" + bridge]
    # stderr to a file, as QEMU's own stderr would be: a pipe read only after the
    # helper exits makes a refusal wait for the reader (src/output.rs, hand_over_stderr)
    errf = tempfile.TemporaryFile()
    try:
        p = subprocess.Popen(args, pass_fds=(b.fileno(),), user=4242, group=4242,
                             extra_groups=[], cwd="/", env=ENV, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=errf)
    finally:
        b.close()
    p.errf = errf
    return (p, a)


def finish(call, bridge, deadline):
    p, a = call
    a.settimeout(max(0.1, deadline - time.monotonic()))
    fds, timed_out = [], False
    try:
        _, fds, _, _ = socket.recv_fds(a, 16, 8)
    except socket.timeout:
        timed_out = True
    except OSError:
        pass
    master = None
    if fds:
        try:
            ifr = fcntl.ioctl(fds[0], TUNGETIFF, b"\0" * 40)
            tap = ifr[:16].split(b"\0")[0]
            master = os.fsencode(os.path.basename(os.readlink(b"/sys/class/net/%s/master" % tap)))
        except OSError:
            master = b"?"
    try:
        p.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        timed_out = True
    p.errf.seek(0)
    err = p.errf.read()
    p.errf.close()
    for fd in fds:
        os.close(fd)
    a.close()
    rc = p.returncode
    err = err.decode(errors="replace")
    if timed_out:
        cls = "timeout"
    elif rc < 0:
        cls = "crash"
    elif rc == 0 and len(fds) == 1 and master == bridge:
        cls = "granted"
    elif rc == 0 or fds:
        cls = "BROKEN(exit %d, %d fds)" % (rc, len(fds))
    elif "access denied by acl file" in err:
        cls = "denied"
    elif "failed to parse" in err:
        cls = "parse-error"
    else:
        cls = "failed"
    # One field of at most about 400 characters that always ends with the
    # last line whole: the error the verdict looks for a documented marker
    # in (many warnings before it must not cut it off).
    lines = [l.strip().replace("\t", " ") for l in err.strip().splitlines()]
    one = " | ".join(lines)
    if len(one) > 400:
        last = lines[-1]
        one = one[: max(0, 400 - len(last) - 9)] + " | ... | " + last
    return cls, rc, one


def main():
    t0 = time.monotonic()
    n = 0
    for line in open(sys.argv[1]):
        fields = line.rstrip("\n").split("\t")
        if fields[0] != "C":
            continue
        index = fields[1]
        clean()
        setup([f for f in fields[2].split(";") if f])
        for j, hexname in enumerate(fields[3].split(",")):
            bridge = bytes.fromhex(hexname)
            deadline = time.monotonic() + TIMEOUT
            ref, vh = start(REF, bridge), start(VH, bridge)
            rcls, rrc, rerr = finish(ref, bridge, time.monotonic() + REF_TIMEOUT)
            vcls, vrc, verr = finish(vh, bridge, deadline)
            print("R\t%s\t%d\t%s\t%d\t%s\t%d\t%s\t%s" % (index, j, rcls, rrc, vcls, vrc, verr, rerr))
            n += 1
        sys.stdout.flush()
    clean()
    print("DONE\t%d\t%.1f" % (n, time.monotonic() - t0), flush=True)


main()
