#!/usr/bin/env python3
"""Measures a server's start-up: prints "armed" once loaded, then reads START_NS (the
time.time_ns() / `date +%s%N` of the server's launch) from stdin and prints the milliseconds
from it until the server answers GET /healthz over HTTPS. Usage: ready.py PORT

Python and its ssl module take ~100 ms to load on a small machine: they load before the
server is launched, so that time is not counted as the server's."""
import socket
import ssl
import sys
import time

port = int(sys.argv[1])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
print("armed", flush=True)
start = int(sys.stdin.readline())
deadline = time.time() + 60
while time.time() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as raw:
            with ctx.wrap_socket(raw) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    print(f"{(time.time_ns() - start) / 1e6:.0f}", flush=True)
                    sys.exit(0)
    except OSError:
        pass
    time.sleep(0.001)
sys.exit("server not ready after 60 s")
