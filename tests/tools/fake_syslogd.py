#!/usr/bin/python3
"""fake_syslogd.py MODE OUT: a syslog daemon on /dev/log for
tests/scripts/attach/audit_goes_to_syslog_and_never_blocks.sh.
MODE listen: record every message in OUT; stale: leave a socket file nobody
listens on (ECONNREFUSED), touch OUT, exit; stuck: fill the socket's queue,
touch OUT, never read (60 s)."""
import os, socket, sys, time
mode, out = sys.argv[1], sys.argv[2]
try:
    os.unlink("/dev/log")
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
if mode == "stale":
    s.close()  # the socket file stays, nobody listens: ECONNREFUSED
    open(out, "w").close()
    sys.exit(0)
if mode == "stuck":
    c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    c.setblocking(False)
    try:
        while True:
            c.sendto(b"filler", "/dev/log")
    except BlockingIOError:
        pass
    open(out, "w").close()
    time.sleep(60)  # never reads
    sys.exit(0)
with open(out, "w") as f:
    s.settimeout(30)
    while True:
        f.write(s.recv(8192).decode(errors="replace") + "\n")
        f.flush()
