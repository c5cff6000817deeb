#!/usr/bin/python3
"""tty_attack.py: what a local user can do to a setuid program through the
terminal it controls (the tty driver signals the foreground process group
whatever its uids).

Usage: tty_attack.py --key KEY [--wait-lock NAME] [--settle MS] [--hold S] -- CMD [ARG...]

Makes a new pty whose session leader (a child of this tool, like an
interactive shell) runs CMD as its foreground job: CMD in a process group of
its own, the pty's foreground group, not orphaned (so ^Z stops it, as on a
real terminal; the kernel discards ^Z for an orphaned group such as a
session leader's own). CMD and its children get the tty's signals. CMD should
drop to the attacker's uid itself (fake_qemu.py does). Then:
  --wait-lock NAME  wait until a process named `vnet-helper` in that session
                    holds a flock on a file whose name is NAME.lock (seen, as any
                    user can, in /proc/locks) before acting;
  --key KEY         what to do then: tstp (^Z), int (^C), quit (^\\), hup (close
                    the pty: SIGHUP to the session).
Prints ACTED=yes|no (no: the lock was never seen within 10 s), and after
--settle MS (default 300) HELPER_STATES=<pid:state ...> of the session's
vnet-helper processes (T = stopped), then keeps the pty open for --hold
seconds (default 20; closing it would hang up the session, which continues
and kills a stopped helper) unless killed first: run it in the background
and test the victims meanwhile. Exit status 0 unless usage is wrong.
"""
import fcntl
import os
import signal
import sys
import termios
import time

KEYS = {"tstp": b"\x1a", "int": b"\x03", "quit": b"\x1c"}
TTY_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGTTIN,
               signal.SIGTTOU, signal.SIGHUP)


def session_helpers(sid):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % p) as f:
                comm = f.read().strip()
            if comm == "vnet-helper" and os.getsid(int(p)) == sid:
                out.append(int(p))
        except OSError:
            pass
    return out


def lock_holders(inode_of):
    """pids holding a FLOCK on one of the inodes in inode_of."""
    holders = set()
    with open("/proc/locks") as f:
        for line in f:
            w = line.split()
            # "1: FLOCK  ADVISORY  WRITE 1234 00:2a:5678 0 EOF" ("->" for waiters)
            if len(w) >= 6 and w[1] == "FLOCK" and w[2] != "->":
                dev_ino = w[5]
                if dev_ino.rsplit(":", 1)[-1] in inode_of:
                    holders.add(int(w[4]))
    return holders


def lock_inodes(name):
    inodes = set()
    for root, _dirs, files in os.walk("/run/vnet-helper/lock"):
        for f in files:
            if f == name + ".lock":
                try:
                    inodes.add(str(os.stat(os.path.join(root, f)).st_ino))
                except OSError:
                    pass
    return inodes


def run_as_job(cmd):
    """In the session leader: run CMD the way an interactive shell runs a
    foreground job, in a process group of its own made the terminal's
    foreground group, whose parent (this leader, in another group of the same
    session) stays. The group is then not orphaned, so the tty's ^Z really
    stops it (the kernel discards SIGTSTP for an orphaned group, such as a
    session leader's own). Never returns."""
    job = os.fork()
    if job == 0:
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        os.setpgid(0, 0)
        os.tcsetpgrp(0, os.getpid())
        # a job starts with the terminal's signals at their defaults (a
        # non-interactive shell that ran this tool with `&` ignores SIGINT
        # and SIGQUIT, which exec would pass on)
        for sig in TTY_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.execvp(cmd[0], cmd)
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGTTOU):
        signal.signal(sig, signal.SIG_IGN)
    try:
        os.setpgid(job, job)
    except OSError:
        pass
    try:
        os.waitpid(job, 0)
    except OSError:
        pass
    # like a shell back at its prompt: stay, until the hangup (or a kill)
    while True:
        signal.pause()


def main(argv):
    key, wait_lock, settle, hold = None, None, 300, 20.0
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] == "--key":
            key = argv[i + 1]
        elif argv[i] == "--wait-lock":
            wait_lock = argv[i + 1]
        elif argv[i] == "--settle":
            settle = int(argv[i + 1])
        elif argv[i] == "--hold":
            hold = float(argv[i + 1])
        else:
            sys.exit("tty_attack.py: unknown option %s" % argv[i])
        i += 2
    cmd = argv[i + 1:]
    if key not in ("tstp", "int", "quit", "hup") or not cmd:
        sys.exit(__doc__)
    master, slave = os.openpty()
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        if slave > 2:
            os.close(slave)
        run_as_job(cmd)
    os.close(slave)
    acted = False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if wait_lock is None:
            ready = True
        else:
            inodes = lock_inodes(wait_lock)
            ready = bool(lock_holders(inodes) & set(session_helpers(pid)))
        if ready:
            if key == "hup":
                os.close(master)
                master = None
            else:
                os.write(master, KEYS[key])
            acted = True
            break
        time.sleep(0.0002)
    print("ACTED=%s" % ("yes" if acted else "no"))
    time.sleep(settle / 1000.0)
    states = []
    for h in session_helpers(pid):
        try:
            with open("/proc/%d/stat" % h) as f:
                states.append("%d:%s" % (h, f.read().rsplit(")", 1)[1].split()[0]))
        except OSError:
            pass
    print("HELPER_STATES=%s" % " ".join(states))
    sys.stdout.flush()
    if master is not None:
        time.sleep(hold)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
