#!/usr/bin/python3
"""acl_harness.py CASES_FILE CASEDIR: the differential ACL harness of
tests/acl_compat.rs. Runs as root inside the sandbox; CASES_FILE (Python,
written by the Rust side) defines CASES. For each case: wipe /etc/qemu and
CASEDIR (a per-case scratch directory), create the case's files, call $REF
then $VH as QEMU would, print one RES line per call:
RES<TAB>case<TAB>REF|VH<TAB>class<TAB>rc<TAB>nfds<TAB>tap<TAB>master<TAB>ms<TAB>stderr"""
import os, sys, socket, subprocess, fcntl, struct, shutil, time, tempfile
exec(open(sys.argv[1]).read())
CASEDIR = sys.argv[2]
REF = os.environ.get("REF", "")
VH = os.environ["VH"]
TIMEOUT = 10.0
TUNGETIFF = 0x800454d2
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}

def clean():
    for n in os.listdir("/etc/qemu"):
        p = os.path.join("/etc/qemu", n)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p)
        else:
            os.unlink(p)
    shutil.rmtree(CASEDIR, ignore_errors=True)

def setup(c):
    os.mkdir(CASEDIR); os.chmod(CASEDIR, 0o755)
    for (path, uid, gid, mode) in c["dirs"]:
        os.makedirs(path, exist_ok=True); os.chown(path, uid, gid); os.chmod(path, mode)
    for (path, content, uid, gid, mode) in c["files"]:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content)
        os.chown(path, uid, gid); os.chmod(path, mode)
    for (path, target) in c["links"]:
        os.symlink(target, path)

def call(helper, who, c):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    fd = c["fd_arg"].replace(b"{}", b"%d" % b.fileno())
    args = [helper.encode(), b"--use-vnet", b"--fd=" + fd, b"--br=" + c["bridge"]]
    t0 = time.monotonic()
    # stderr to a file, as QEMU's own stderr would be: a pipe read only after the
    # helper exits makes a refusal wait for the reader (src/output.rs, hand_over_stderr)
    errf = tempfile.TemporaryFile()
    try:
        p = subprocess.Popen(args, pass_fds=(b.fileno(),), user=c["uid"], group=c["gid"],
                             extra_groups=c["groups"], cwd=c["cwd"], env=ENV,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errf)
    finally:
        b.close()
    a.settimeout(TIMEOUT)
    fds, nbytes, timed_out = [], 0, False
    try:
        msg, fds, flags, addr = socket.recv_fds(a, 16, 8)
        nbytes = len(msg)
    except socket.timeout:
        timed_out = True
    tap, master = "-", b"-"
    if fds:
        try:
            ifr = fcntl.ioctl(fds[0], TUNGETIFF, b"\0" * 40)
            tap = ifr[:16].split(b"\0")[0].decode()
            master = os.fsencode(os.path.basename(os.readlink("/sys/class/net/%s/master" % tap)))
        except OSError as e:
            master = "?" + type(e).__name__
    try:
        out, _ = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill(); out, _ = p.communicate(); timed_out = True
    errf.seek(0)
    err = errf.read()
    errf.close()
    ms = (time.monotonic() - t0) * 1000
    for fd in fds:
        os.close(fd)
    a.close()
    rc = p.returncode
    err = err.decode(errors="replace")
    if timed_out:
        cls = "timeout"
    elif rc == 0 and len(fds) == 1 and master == c["bridge"]:
        cls = "granted"
    elif rc == 0:
        cls = "BROKEN(exit 0, %d fds, bytes=%d, master=%r)" % (len(fds), nbytes, master)
    elif fds:
        cls = "BROKEN(exit %d with an fd)" % rc
    elif "access denied by acl file" in err:
        cls = "denied"
    elif "failed to parse" in err:
        cls = "parse-error"
    else:
        cls = "failed"
    err1 = " | ".join(l.strip() for l in err.strip().splitlines()).replace("\t", " ")
    print("RES\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%.1f\t%s" % (c["name"], who, cls, rc, len(fds), tap, os.fsdecode(master), ms, err1), flush=True)

for c in CASES:
    clean(); setup(c)
    call(REF, "REF", c)
    call(VH, "VH", c)
clean()
