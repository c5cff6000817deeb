#!/usr/bin/python3
"""fake_qemu.py: call a bridge helper exactly like QEMU's net_bridge_run_helper
does (net/tap.c) and report what came back, for the sandboxed tests.

Usage: fake_qemu.py [OPTIONS] HELPER BRIDGE [EXTRA_ARG...]
       fake_qemu.py [OPTIONS] --raw HELPER [ARG...]

Default: socketpair(AF_UNIX, SOCK_STREAM); fork; in the child keep fds 0-2 and
the socket end, close everything else, drop to uid/gid 4242 with no
supplementary groups, execv(HELPER, [HELPER, --use-vnet, --fd=N, --br=BRIDGE,
EXTRA...]); in the parent recvmsg() one byte + SCM_RIGHTS, waitpid(), then
print, one per line:
  RC=<exit status, or -SIGNAL>     GOT_FD=yes|no      TAP=<TUNGETIFF name>
  VNET_HDR=yes|no (IFF_VNET_HDR)   FD_NUM=<received fd number here>
  STDERR=<helper's stderr, lines joined with ' | '>   STDERR_LINES=<count>

Options:
  --as-root              run the helper as root (no privilege drop)
  --as UID:GID[:G1,G2]   run as this uid/gid with these supplementary groups
  --no-vnet              leave out --use-vnet
  --libvirt              libvirt's order: [--use-vnet] --br=BRIDGE --fd=N
  --shell                QEMU's path for a helper string with a space:
                         /bin/sh -c "HELPER --use-vnet --fd=N [--br=BRIDGE]"
                         (--br= left out when HELPER already contains it)
  --raw                  HELPER and then the literal argv; "{fd}" in an
                         argument is replaced by the socket's fd number,
                         "{fd32}" by that number + 2**32 (overflow probes)
  --argv0 NAME           pass NAME as argv[0] (the program is still HELPER)
  --argc0                exec HELPER with an empty argv (argc == 0, pkexec's
                         CVE-2021-4034; Linux >= 5.18 turns it into [""])
  --fd-kind KIND         what the child's fd is: stream (default), dgram
                         (AF_UNIX datagram socketpair), pipe, file
  --close-std            close fds 0, 1 and 2 in the child (STDERR is then
                         empty: the helper has nowhere to write)
  --poison-env DIR       replace the environment by a hostile one
                         (LD_PRELOAD, PATH=DIR, RUST_BACKTRACE, LANG garbage...)
  --clear-env            start the child with an empty environment
  --env K=V              add a variable to the child's environment (repeatable)
  --timeout SECONDS      kill the helper if it has not exited by then (20)
  --probe                after receiving, write one Ethernet frame into the tap
                         fd and print PROBE=ok|<error>
  --hold SECONDS         keep the tap fd open this long before exiting
  --hold-cmd CMD         run CMD with bash while the fd is held (TAP exported);
                         its exit status becomes HOLD_RC=<n>
  --keep-fd N            the child keeps our fd N open across the exec of the
                         helper (not close-on-exec) instead of closing it, as a
                         careless caller leaks a descriptor (repeatable)
Environment HOLD / HOLD_CMD act like --hold / --hold-cmd (see call_helper in tests/lib/common.sh).
The exit status of this script is 0 unless its own usage is wrong (2).
"""
import array
import fcntl
import os
import shlex
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

TUNGETIFF = 0x800454D2
IFF_VNET_HDR = 0x4000


def usage(msg):
    sys.stderr.write("fake_qemu.py: %s\n" % msg)
    sys.exit(2)


def parse(argv):
    o = dict(uid=4242, gid=4242, groups=[], root=False, vnet=True, libvirt=False,
             shell=False, raw=False, fd_kind="stream", close_std=False,
             poison=None, clear_env=False, env=[], timeout=20.0, probe=False,
             hold=None, hold_cmd=None, argv0=None, argc0=False, keep_fds=[])
    i = 0
    while i < len(argv) and argv[i].startswith("--"):
        a = argv[i]
        i += 1

        def val():
            nonlocal i
            if i >= len(argv):
                usage("%s needs a value" % a)
            i += 1
            return argv[i - 1]
        if a == "--as-root":
            o["root"] = True
        elif a == "--as":
            parts = val().split(":")
            if len(parts) not in (2, 3):
                usage("--as UID:GID[:G1,G2]")
            o["uid"], o["gid"] = int(parts[0]), int(parts[1])
            o["groups"] = [int(g) for g in parts[2].split(",") if g] if len(parts) == 3 else []
        elif a == "--no-vnet":
            o["vnet"] = False
        elif a == "--libvirt":
            o["libvirt"] = True
        elif a == "--shell":
            o["shell"] = True
        elif a == "--raw":
            o["raw"] = True
        elif a == "--argv0":
            o["argv0"] = val()
        elif a == "--argc0":
            o["argc0"] = True
        elif a == "--fd-kind":
            o["fd_kind"] = val()
            if o["fd_kind"] not in ("stream", "dgram", "pipe", "file"):
                usage("bad --fd-kind")
        elif a == "--close-std":
            o["close_std"] = True
        elif a == "--poison-env":
            o["poison"] = val()
        elif a == "--clear-env":
            o["clear_env"] = True
        elif a == "--env":
            o["env"].append(val())
        elif a == "--timeout":
            o["timeout"] = float(val())
        elif a == "--probe":
            o["probe"] = True
        elif a == "--hold":
            o["hold"] = float(val())
        elif a == "--hold-cmd":
            o["hold_cmd"] = val()
        elif a == "--keep-fd":
            o["keep_fds"].append(int(val()))
        elif a == "--":
            break
        else:
            usage("unknown option " + a)
    rest = argv[i:]
    if o["raw"]:
        if not rest:
            usage("--raw needs HELPER")
        o["helper"], o["bridge"], o["extra"] = rest[0], None, rest[1:]
    else:
        if len(rest) < 2:
            usage("need HELPER BRIDGE")
        o["helper"], o["bridge"], o["extra"] = rest[0], rest[1], rest[2:]
    if o["hold"] is None and os.environ.get("HOLD"):
        o["hold"] = float(os.environ["HOLD"])
    if o["hold_cmd"] is None and os.environ.get("HOLD_CMD"):
        o["hold_cmd"] = os.environ["HOLD_CMD"]
    return o


def child_env(o):
    if o["poison"] is not None:
        d = o["poison"]
        env = {
            "LD_PRELOAD": "/nonexistent.so",
            "LD_LIBRARY_PATH": d,
            "LD_DEBUG": "all",
            "GCONV_PATH": d,
            "MALLOC_CHECK_": "3",
            "RUST_BACKTRACE": "1",
            "RUST_LOG": "trace",
            "RUST_MIN_STACK": "1",
            "PATH": d,
            "IFS": "/",
            "HOME": d,
            "TMPDIR": d,
            "LANG": "\xff\xfegarbage.UTF-99",
            "LC_ALL": "../../../" + d + "/evil",
            "LANGUAGE": "xx",
            "NLSPATH": d + "/%N",
            "XTABLES_LIBDIR": d,
            "SHELL": d + "/sh",
        }
    elif o["clear_env"]:
        env = {}
    else:
        env = {k: v for k, v in os.environ.items() if k not in ("HOLD", "HOLD_CMD")}
    for kv in o["env"]:
        k, _, v = kv.partition("=")
        env[k] = v
    return env


def make_pair(kind):
    """Returns (parent_end or None, child_fd)."""
    if kind == "stream":
        p, c = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        return p, c.detach()
    if kind == "dgram":
        p, c = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        return p, c.detach()
    if kind == "pipe":
        r, w = os.pipe()
        os.set_inheritable(r, False)
        return os.fdopen(r, "rb", buffering=0), w
    # a regular file
    f = tempfile.TemporaryFile()
    return None, os.dup(f.fileno())


def build_argv(o, fd):
    h = o["helper"]
    if o["raw"]:
        return [h] + [a.replace("{fd32}", str(fd + 2**32)).replace("{fd}", str(fd))
                      for a in o["extra"]]
    vnet = ["--use-vnet"] if o["vnet"] else []
    if o["libvirt"]:
        args = vnet + ["--br=" + o["bridge"], "--fd=%d" % fd]
    else:
        args = vnet + ["--fd=%d" % fd, "--br=" + o["bridge"]]
    args += o["extra"]
    if o["shell"]:
        # QEMU: "%s %s--fd=%d %s%s" with --br= omitted if the helper has one
        if "--br=" in h:
            args = [a for a in args if not a.startswith("--br=")]
        return ["/bin/sh", "-c", " ".join([h] + args)]
    return [h] + args


def recv_fd(sock, kind, timeout):
    """QEMU's recv: 1-byte buffer, room for one fd. Returns (nbytes, fd|None)."""
    if sock is None:
        return 0, None
    if kind == "pipe":
        sock.close()  # a pipe never carries an fd; just drain to EOF
        return 0, None
    sock.settimeout(timeout)
    try:
        data, anc, _flags, _addr = sock.recvmsg(1, socket.CMSG_SPACE(4))
    except (socket.timeout, OSError):
        return -1, None
    fd = None
    for level, typ, cdata in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(cdata[: len(cdata) - (len(cdata) % 4)])
            for extra in fds[1:]:
                os.close(extra)
            if len(fds):
                fd = fds[0]
    return len(data), fd


def tun_info(fd):
    try:
        ifr = fcntl.ioctl(fd, TUNGETIFF, b"\0" * 40)
    except OSError as e:
        return "", None, "TUNGETIFF: " + e.strerror
    name = ifr[:16].split(b"\0", 1)[0].decode(errors="replace")
    flags = struct.unpack("H", ifr[16:18])[0]
    return name, flags, None


def probe(fd, vnet):
    # one broadcast ARP-ish frame; with IFF_VNET_HDR a zeroed 10-byte
    # virtio_net_hdr (the default TUNSETVNETHDRSZ) comes first
    frame = b"\xff" * 6 + b"\x52\x54\x00\x12\x34\x56" + b"\x08\x06" + b"\0" * 46
    if vnet:
        frame = b"\0" * 10 + frame
    try:
        os.write(fd, frame)
        return "ok"
    except OSError as e:
        return e.strerror


class Argc0Proc:
    """Just enough of Popen for a child forked by spawn_argc0."""
    def __init__(self, pid):
        self.pid, self.returncode = pid, None

    def wait(self, timeout):
        end = time.monotonic() + timeout
        while True:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(st)
                return self.returncode
            if time.monotonic() > end:
                raise subprocess.TimeoutExpired("helper", timeout)
            time.sleep(0.01)

    def kill(self):
        os.kill(self.pid, signal.SIGKILL)


def spawn_argc0(o, path, cfd, errf, env):
    """fork + execve(path, {NULL}, env): Python's own exec refuses argc == 0."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    envp = (ctypes.c_char_p * (len(env) + 1))(
        *[("%s=%s" % kv).encode() for kv in env.items()], None)
    argvp = (ctypes.c_char_p * 1)(None)
    pid = os.fork()
    if pid == 0:
        try:
            null = os.open("/dev/null", os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(errf.fileno(), 1)
            os.dup2(errf.fileno(), 2)
            for n in range(3, 1024):
                if n != cfd:
                    try:
                        os.close(n)
                    except OSError:
                        pass
            if not o["root"]:
                os.setgroups(o["groups"])
                os.setgid(o["gid"])
                os.setuid(o["uid"])
            libc.execve(path.encode(), argvp, envp)
        finally:
            os._exit(127)
    return Argc0Proc(pid)


def main():
    o = parse(sys.argv[1:])
    parent, cfd = make_pair(o["fd_kind"])
    argv = build_argv(o, cfd)
    errf = tempfile.TemporaryFile()
    close_std = o["close_std"]

    def pre():
        # QEMU's child keeps QEMU's 0-2; --close-std simulates a caller
        # that has them closed
        if close_std:
            for n in (0, 1, 2):
                try:
                    os.close(n)
                except OSError:
                    pass

    kw = {}
    if not o["root"]:
        kw = dict(user=o["uid"], group=o["gid"], extra_groups=o["groups"])
    if o["argv0"] is not None:
        kw["executable"] = argv[0]
        argv = [o["argv0"]] + argv[1:]
    try:
        if o["argc0"]:
            proc = spawn_argc0(o, argv[0], cfd, errf, child_env(o))
        else:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=errf, stderr=errf,
                pass_fds=(cfd,) + tuple(o["keep_fds"]), close_fds=True, env=child_env(o),
                preexec_fn=pre if close_std else None, **kw)
    except OSError as e:
        print("RC=exec-failed:" + e.strerror)
        sys.exit(0)
    os.close(cfd)  # only the child holds its end now: EOF when it exits
    nbytes, fd = recv_fd(parent, o["fd_kind"], o["timeout"])
    try:
        rc = proc.wait(timeout=o["timeout"])
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rc = "timeout"
    errf.seek(0)
    err = errf.read().decode(errors="replace")
    lines = [l for l in err.split("\n") if l != ""]
    name, flags, tunerr = ("", None, None) if fd is None else tun_info(fd)
    out = ["RC=%s" % rc,
           "GOT_FD=%s" % ("yes" if fd is not None else "no"),
           "BYTES=%d" % nbytes,
           "TAP=%s" % name,
           "VNET_HDR=%s" % ("yes" if flags is not None and flags & IFF_VNET_HDR else "no"),
           "FD_NUM=%s" % ("" if fd is None else fd),
           "STDERR=%s" % " | ".join(lines),
           "STDERR_LINES=%d" % len(lines)]
    if tunerr:
        out.append("TUN_ERR=%s" % tunerr)
    if o["probe"] and fd is not None:
        out.append("PROBE=%s" % probe(fd, flags is not None and flags & IFF_VNET_HDR))
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()
    if fd is not None:
        if o["hold_cmd"]:
            env = dict(os.environ, TAP=name)
            r = subprocess.run(["/bin/bash", "-c", o["hold_cmd"]], env=env)
            sys.stdout.write("HOLD_RC=%d\n" % r.returncode)
            sys.stdout.flush()
        if o["hold"]:
            time.sleep(o["hold"])
        os.close(fd)
    if parent is not None:
        parent.close()


if __name__ == "__main__":
    main()
