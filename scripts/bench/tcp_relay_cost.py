#!/usr/bin/env python3
"""What relaying N GiB costs without TLS (bench.sh): a plain TCP relay over loopback, reading into one
256 KiB buffer and sending it on, as any relay that decrypts and re-encrypts in user space must at least
do. Prints the relay's CPU seconds per GiB (user + sys; nearly all of it the kernel's copies and TCP
work). Usage: tcp_relay_cost.py [GIB]"""
import os
import resource
import socket
import sys
import threading

GIB = 1 << 30
total = int(float(sys.argv[1] if len(sys.argv) > 1 else 1) * GIB)
chunk = 256 * 1024

def source(listener):
    c, _ = listener.accept()
    buf = b"\0" * chunk
    sent = 0
    while sent < total:
        sent += c.send(buf)
    c.close()

def sink(port, done):
    s = socket.create_connection(("127.0.0.1", port))
    buf = bytearray(chunk)
    n = 0
    while True:
        k = s.recv_into(buf)
        if not k: break
        n += k
    done.append(n)

# source and sink in a child process so the relay's rusage is the relay alone
src = socket.socket(); src.bind(("127.0.0.1", 0)); src.listen(1)
out = socket.socket(); out.bind(("127.0.0.1", 0)); out.listen(1)
pid = os.fork()
if pid == 0:
    done = []
    t = threading.Thread(target=source, args=(src,)); t.start()
    sink(out.getsockname()[1], done); t.join(); os._exit(0 if done[0] == total else 1)
up = socket.create_connection(("127.0.0.1", src.getsockname()[1]))
down, _ = out.accept()
r0 = resource.getrusage(resource.RUSAGE_SELF)
buf = bytearray(chunk); view = memoryview(buf)
while True:
    k = up.recv_into(buf)
    if not k: break
    down.sendall(view[:k])
down.close()
r1 = resource.getrusage(resource.RUSAGE_SELF)
os.waitpid(pid, 0)
g = total / GIB
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
print(f"{cpu / g:.4f}")
