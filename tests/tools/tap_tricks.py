#!/usr/bin/python3
"""tap_tricks.py: call a bridge helper like QEMU (tests/tools/fake_qemu.py's
socketpair dance, without any privilege change: run this script itself as the
unprivileged user), then do with the received tap fd what any holder of it
can do, and report.

Usage: tap_tricks.py [OPTIONS] HELPER BRIDGE

The helper runs as [HELPER, --use-vnet, --fd=N, --br=BRIDGE] with this
process's uid; the parent receives the fd with recvmsg() + SCM_RIGHTS and
prints, one per line:
  RC=<exit status>  GOT_FD=yes|no  TAP=<name>  STDERR=<helper's stderr>
and then, per option:
  --set-mac MAC      SIOCSIFHWADDR on the tap fd (the tun driver takes it
                     from the fd holder, no capability needed):
                     SET_MAC=ok|<error>, MAC_NOW=<the tap's address>
  --persist          TUNSETPERSIST(1) on the fd: PERSIST=ok|<error>
  --owner UID        TUNSETOWNER(UID) on the fd: OWNER=ok|<error>
  --hold SECONDS     keep the fd open this long, then close it and exit
                     (default: close it at once)
The exit status is 0 unless the usage is wrong (2).
"""
import fcntl
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_qemu import recv_fd, tun_info  # noqa: E402

SIOCSIFHWADDR = 0x8924
ARPHRD_ETHER = 1
TUNSETPERSIST = 0x400454CB
TUNSETOWNER = 0x400454CC


def usage(msg):
    sys.stderr.write("tap_tricks.py: %s\n" % msg)
    sys.exit(2)


def set_mac(fd, name, mac):
    try:
        raw = bytes(int(b, 16) for b in mac.split(":"))
        if len(raw) != 6:
            raise ValueError
    except ValueError:
        usage("bad MAC " + mac)
    ifr = struct.pack("16sH14s", name.encode(), ARPHRD_ETHER, raw + b"\0" * 8)
    try:
        fcntl.ioctl(fd, SIOCSIFHWADDR, ifr)
        return "ok"
    except OSError as e:
        return e.strerror


def int_ioctl(fd, req, arg):
    try:
        fcntl.ioctl(fd, req, arg)
        return "ok"
    except OSError as e:
        return e.strerror


def main():
    args = sys.argv[1:]
    opts = {"mac": None, "persist": False, "owner": None, "hold": 0.0}
    while args and args[0].startswith("--"):
        a = args.pop(0)
        if a == "--persist":
            opts["persist"] = True
            continue
        if not args:
            usage(a + " needs a value")
        v = args.pop(0)
        if a == "--set-mac":
            opts["mac"] = v
        elif a == "--owner":
            opts["owner"] = int(v)
        elif a == "--hold":
            opts["hold"] = float(v)
        else:
            usage("unknown option " + a)
    if len(args) != 2:
        usage("need HELPER BRIDGE")
    helper, bridge = args
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    cfd = child.detach()
    errf = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [helper, "--use-vnet", "--fd=%d" % cfd, "--br=" + bridge],
        stdin=subprocess.DEVNULL, stdout=errf, stderr=errf,
        pass_fds=(cfd,), close_fds=True)
    os.close(cfd)
    _nbytes, fd = recv_fd(parent, "stream", 20.0)
    try:
        rc = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rc = "timeout"
    errf.seek(0)
    err = " | ".join(l for l in errf.read().decode(errors="replace").split("\n") if l)
    name = "" if fd is None else tun_info(fd)[0]
    out = ["RC=%s" % rc, "GOT_FD=%s" % ("no" if fd is None else "yes"),
           "TAP=%s" % name, "STDERR=%s" % err]
    if fd is not None:
        if opts["mac"]:
            out.append("SET_MAC=%s" % set_mac(fd, name, opts["mac"]))
            try:
                with open("/sys/class/net/%s/address" % name) as f:
                    out.append("MAC_NOW=%s" % f.read().strip())
            except OSError as e:
                out.append("MAC_NOW=" + e.strerror)
        if opts["persist"]:
            out.append("PERSIST=%s" % int_ioctl(fd, TUNSETPERSIST, 1))
        if opts["owner"] is not None:
            out.append("OWNER=%s" % int_ioctl(fd, TUNSETOWNER, opts["owner"]))
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()
    if fd is not None:
        time.sleep(opts["hold"])
        os.close(fd)
    parent.close()


if __name__ == "__main__":
    main()
