#!/usr/bin/env python3
"""The soak's load client: many HTTPS connections through regtrace at once, as dockerd makes them.

Each connection is a CONNECT to regtrace, then TLS with regtrace's leaf (trusting its CA), then
HTTP/1.1 requests. Phases, in order:

  open       --tunnels connections opened at once (CONNECT + TLS), kept alive
  keepalive  --requests requests spread over them, each connection sending its share in turn
  newconn    --new-conn-requests requests, each on a connection of its own (CONNECT + TLS + one
             request + close), --new-conn-parallel at a time, the kept-alive connections still open
  hold       the kept-alive connections stay open and idle; the file --ready is written; the client
             waits until the file --release exists or regtrace closed every connection (it was stopped)

Every request must answer 200 with its whole body; anything else is an error, counted and a few kept
as samples. The result is one JSON object in --out. TCP_NODELAY on every socket (TESTBED.md: small
TLS writes otherwise meet delayed ACKs).
"""

import argparse
import asyncio
import json
import os
import socket
import ssl
import sys
import time

HEADER_LIMIT = 64 * 1024


class Stats:
    def __init__(self):
        self.ok = 0
        self.errors = 0
        self.samples = []
        self.latencies = []

    def error(self, what):
        self.errors += 1
        if len(self.samples) < 10:
            self.samples.append(what)


async def open_tunnel(proxy_host, proxy_port, target, context, server_name):
    """CONNECT target through the proxy, then TLS with it; returns (reader, writer)."""
    reader, writer = await asyncio.open_connection(proxy_host, proxy_port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    writer.write(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        writer.close()
        raise RuntimeError("CONNECT answered " + head.split(b"\r\n", 1)[0].decode(errors="replace"))
    await writer.start_tls(context, server_hostname=server_name)
    return reader, writer


async def read_chunked(reader):
    total = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers from the registry
            return total
        await reader.readexactly(size + 2)
        total += size


async def request(reader, writer, host, path, keep_alive):
    """One GET; returns (status, body bytes). Raises on a broken or malformed answer."""
    connection = "keep-alive" if keep_alive else "close"
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: regtrace-soak\r\n"
                 f"Accept: application/vnd.oci.image.manifest.v1+json\r\n"
                 f"Connection: {connection}\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > HEADER_LIMIT:
        raise RuntimeError("response header too large")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            fields[name.strip().lower()] = value.strip()
    if "content-length" in fields:
        length = int(fields["content-length"])
        await reader.readexactly(length)
    elif fields.get("transfer-encoding", "").lower() == "chunked":
        length = await read_chunked(reader)
    else:
        raise RuntimeError("response with neither Content-Length nor chunked")
    if fields.get("connection", "").lower() == "close" and keep_alive:
        raise RuntimeError("the proxy closed a kept-alive connection")
    return status, length


def close(writer):
    try:
        writer.close()
    except Exception:  # already gone
        pass


async def run_requests(stats, tunnel, args, paths, count, offset):
    reader, writer = tunnel
    for i in range(count):
        path = paths[(offset + i) % len(paths)]
        started = time.monotonic()
        try:
            status, _ = await request(reader, writer, args.target, path, True)
        except Exception as e:  # one failure ends the connection: count the rest as lost
            stats.error(f"keep-alive {path}: {type(e).__name__}: {e}")
            stats.errors += count - i - 1
            return False
        stats.latencies.append(time.monotonic() - started)
        if status == 200:
            stats.ok += 1
        else:
            stats.error(f"keep-alive {path}: HTTP {status}")
    return True


async def one_new_connection(stats, args, context, path, gate):
    async with gate:
        writer = None
        try:
            reader, writer = await open_tunnel(args.proxy_host, args.proxy_port, args.target, context, args.host)
            status, _ = await request(reader, writer, args.target, path, False)
            if status == 200:
                stats.ok += 1
            else:
                stats.error(f"new connection {path}: HTTP {status}")
        except Exception as e:
            stats.error(f"new connection {path}: {type(e).__name__}: {e}")
        finally:
            if writer:
                close(writer)


async def wait_closed_by_peer(reader):
    try:
        await reader.read(1)
    except Exception:
        pass


async def hold(tunnels, ready, release):
    """Idle until `release` exists or every tunnel was closed by the proxy; returns how many it closed."""
    watchers = [asyncio.ensure_future(wait_closed_by_peer(r)) for r, _ in tunnels]
    with open(ready, "w") as f:
        f.write(f"{len(tunnels)}\n")
    while not os.path.exists(release) and not all(w.done() for w in watchers):
        await asyncio.sleep(0.05)
    closed = sum(1 for w in watchers if w.done())
    for w in watchers:
        w.cancel()
    return closed


async def main(args):
    context = ssl.create_default_context(cafile=args.ca)
    paths = args.paths.split(",")
    stats = Stats()
    result = {"tunnels_wanted": args.tunnels}

    started = time.monotonic()
    opened = await asyncio.gather(
        *[open_tunnel(args.proxy_host, args.proxy_port, args.target, context, args.host) for _ in range(args.tunnels)],
        return_exceptions=True)
    tunnels = [t for t in opened if not isinstance(t, BaseException)]
    for failure in (t for t in opened if isinstance(t, BaseException)):
        stats.error(f"opening a tunnel: {type(failure).__name__}: {failure}")
    result["open_seconds"] = round(time.monotonic() - started, 2)
    result["tunnels_open"] = len(tunnels)

    started = time.monotonic()
    share, extra = divmod(args.requests, max(1, len(tunnels)))
    alive = await asyncio.gather(
        *[run_requests(stats, t, args, paths, share + (1 if i < extra else 0), i) for i, t in enumerate(tunnels)])
    tunnels = [t for t, ok in zip(tunnels, alive) if ok]
    result["keepalive_seconds"] = round(time.monotonic() - started, 2)
    result["keepalive_ok"] = stats.ok

    started = time.monotonic()
    gate = asyncio.Semaphore(args.new_conn_parallel)
    await asyncio.gather(*[one_new_connection(stats, args, context, paths[i % len(paths)], gate)
                           for i in range(args.new_conn_requests)])
    result["newconn_seconds"] = round(time.monotonic() - started, 2)

    result["tunnels_held"] = len(tunnels)
    result["closed_by_proxy"] = await hold(tunnels, args.ready, args.release) if args.ready else 0
    for _, writer in tunnels:
        close(writer)
    lat = sorted(stats.latencies)
    result.update({
        "requests_ok": stats.ok,
        "errors": stats.errors,
        "error_samples": stats.samples,
        "keepalive_p50_ms": round(1000 * lat[len(lat) // 2], 2) if lat else None,
        "keepalive_p99_ms": round(1000 * lat[int(len(lat) * 0.99)], 2) if lat else None,
    })
    with open(args.out, "w") as f:
        json.dump(result, f)
    return 0 if stats.errors == 0 else 1


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--proxy", required=True, help="regtrace's HOST:PORT")
    p.add_argument("--target", required=True, help="the registry as the client names it, HOST:PORT")
    p.add_argument("--ca", required=True, help="regtrace's CA certificate (PEM)")
    p.add_argument("--paths", default="/v2/", help="comma-separated paths, requested in turn")
    p.add_argument("--tunnels", type=int, default=500)
    p.add_argument("--requests", type=int, default=10000, help="over the kept-alive connections")
    p.add_argument("--new-conn-requests", type=int, default=1000)
    p.add_argument("--new-conn-parallel", type=int, default=50)
    p.add_argument("--ready", help="written once the connections are held idle")
    p.add_argument("--release", help="the hold ends when this file exists")
    p.add_argument("--out", required=True, help="the result (JSON)")
    args = p.parse_args()
    args.proxy_host, port = args.proxy.rsplit(":", 1)
    args.proxy_port = int(port)
    args.host = args.target.rsplit(":", 1)[0]
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
