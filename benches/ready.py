#!/usr/bin/env python3
"""Prints the milliseconds from START_NS (time.time_ns() of the launch) until the server
answers GET /healthz over HTTPS. Usage: ready.py PORT START_NS"""
import socket
import ssl
import sys
import time

port, start = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
deadline = time.time() + 60
while time.time() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as raw:
            with ctx.wrap_socket(raw) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    print(f"{(time.time_ns() - start) / 1e6:.0f}")
                    sys.exit(0)
    except OSError:
        pass
    time.sleep(0.002)
sys.exit("server not ready after 60 s")
