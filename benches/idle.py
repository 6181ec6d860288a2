#!/usr/bin/env python3
"""(4) Opens N keep-alive HTTPS connections to the server, makes one request on each (so the
server holds a live HTTP/1.1 connection, not a half-open TLS one), prints `held N`, and holds
them until stdin closes. Usage: idle.py PORT N"""
import asyncio
import ssl
import sys


async def open_one(port, ctx, sem, held, failed):
    async with sem:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            held.append((reader, writer))
        except Exception as e:  # noqa: BLE001 - counted and reported
            failed.append(repr(e))


async def main():
    port, n = int(sys.argv[1]), int(sys.argv[2])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sem = asyncio.Semaphore(64)
    held, failed = [], []
    await asyncio.gather(*(open_one(port, ctx, sem, held, failed) for _ in range(n)))
    print(f"held {len(held)} failed {len(failed)} {failed[:3]}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    still_open = sum(1 for r, _ in held if not r.at_eof())
    print(f"still open {still_open}", flush=True)


asyncio.run(main())
