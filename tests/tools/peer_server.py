#!/usr/bin/python3
"""peer_server.py ADDR PORT LOGFILE REPLY: accept TCP connections forever;
for each, append "PEER=<client address>" to LOGFILE (before replying, so a
client that got the reply can rely on the record), send REPLY + newline, then
close after the client does (bounded), so nothing it sent triggers a RST that
could destroy the reply. Touches LOGFILE.ready once listening."""
import socket, sys, threading

addr, port, log, reply = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(16)
open(log, "a").close()
open(log + ".ready", "w").close()

def serve(c, peer):
    try:
        with open(log, "a") as f:
            f.write("PEER=%s\n" % peer[0])
        c.sendall((reply + "\n").encode())
        c.shutdown(socket.SHUT_WR)
        c.settimeout(10)
        while c.recv(4096):
            pass
    except OSError:
        pass
    finally:
        c.close()

while True:
    c, peer = s.accept()
    threading.Thread(target=serve, args=(c, peer), daemon=True).start()
