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
