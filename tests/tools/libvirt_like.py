#!/usr/bin/python3
"""libvirt_like.py: run a bridge helper the way libvirt 9.0 in session mode
does (src/qemu/qemu_interface.c, virCommand) and read its error the way
libvirt does: the moment the --fd socket closes.

Usage: libvirt_like.py [--slow-helper] HELPER BRIDGE

As uid/gid 4242, no supplementary groups: argv `HELPER --use-vnet --br=BRIDGE
--fd=N`, cwd /, fds 0 and 1 on /dev/null, fd 2 a pipe, environment LC_ALL=C,
PATH, HOME, USER. The parent waits in recvmsg() for the tap; when it returns
(EOF: the socket closed), it reads whatever the pipe holds at that instant
without waiting (O_NONBLOCK), which is what libvirt puts in its message, and
only then waits for the helper to exit.

--slow-helper: the helper runs SCHED_IDLE on the same single CPU as this
reader, so the reader runs the moment the socket closes, before the helper
gets the CPU back: an error written after closing the socket is then always
missed (libvirt on a busy host misses it often).

Prints RC=<exit status> GOT_FD=yes|no REASON_AT_CLOSE=<stderr at close,
lines joined with ' | '> STDERR_ALL=<all of stderr after exit>.
"""
import array
import os
import socket
import sys

def main(argv):
    slow = False
    if argv and argv[0] == "--slow-helper":
        slow, argv = True, argv[1:]
    if len(argv) != 2:
        sys.exit(__doc__)
    helper, bridge = argv
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    rpipe, wpipe = os.pipe()
    if slow:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    pid = os.fork()
    if pid == 0:
        parent.close()
        os.close(rpipe)
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(wpipe, 2)
        fd = child.fileno()
        os.set_inheritable(fd, True)
        os.setgroups([])
        os.setgid(4242)
        os.setuid(4242)
        if slow:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        os.chdir("/")
        env = {"LC_ALL": "C", "PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "USER": "u4242"}
        args = [helper, "--use-vnet", "--br=" + bridge, "--fd=%d" % fd]
        os.execve(helper, args, env)
    child.close()
    os.close(wpipe)
    os.set_blocking(rpipe, False)
    fds = array.array("i")
    got_fd = False
    try:
        msg, anc, _flags, _addr = parent.recvmsg(1, socket.CMSG_SPACE(fds.itemsize))
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                got_fd = True
                fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    except OSError:
        pass
    try:
        at_close = os.read(rpipe, 65536)
    except BlockingIOError:
        at_close = b""
    _pid, status = os.waitpid(pid, 0)
    os.set_blocking(rpipe, True)
    rest = b""
    while True:
        chunk = os.read(rpipe, 65536)
        if not chunk:
            break
        rest += chunk
    for f in fds:
        os.close(f)
    rc = os.waitstatus_to_exitcode(status)
    join = lambda b: " | ".join(l for l in b.decode(errors="replace").splitlines() if l)
    print("RC=%d" % rc)
    print("GOT_FD=%s" % ("yes" if got_fd else "no"))
    print("REASON_AT_CLOSE=%s" % join(at_close))
    print("STDERR_ALL=%s" % join(at_close + rest))
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
