#!/usr/bin/python3
"""scraper: well-behaved and hostile HTTP clients of failoverd's metrics
server, for tests. Each mode prints one JSON summary line on stdout.

  get ADDR PORT [--path /metrics] [--method GET]
      One request (no body); status, headers and body.
  idle ADDR PORT [--count 1] [--wait-s 15]
      Open COUNT connections and send nothing; report when the server
      closed each (or that it had not after WAIT_S seconds).
  garbage ADDR PORT [--bytes 1048576] [--prefix TEXT] [--ascii] [--wait-s 15]
      Send BYTES random bytes (letters with --ascii; after PREFIX, e.g. the
      start of a request), then read what comes back until the server
      closes.
  parallel ADDR PORT [--count 1000] [--wait-s 60]
      COUNT connections at once, each sending GET /metrics and reading the
      whole response; how many got a 200 with the body, and how long it took.

Every wait is bounded by WAIT_S; everything runs in one asyncio loop.
"""

import argparse
import asyncio
import json
import os
import resource
import sys
import time


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


async def read_all(reader, deadline):
    """Everything until EOF; (bytes, closed before the deadline)."""
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, False
        try:
            chunk = await asyncio.wait_for(reader.read(65536), left)
        except asyncio.TimeoutError:
            return data, False
        except (ConnectionResetError, BrokenPipeError):
            return data, True
        if not chunk:
            return data, True
        data += chunk


def parse(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith(
        "HTTP/") else None
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def request(path, method="GET"):
    return ("%s %s HTTP/1.1\r\nHost: failoverd\r\nConnection: close\r\n"
            "\r\n" % (method, path)).encode()


async def get(a):
    deadline = time.monotonic() + a.wait_s
    reader, writer = await asyncio.open_connection(a.addr, a.port)
    writer.write(request(a.path, a.method))
    await writer.drain()
    data, _ = await read_all(reader, deadline)
    writer.close()
    status, headers, body = parse(data)
    return {"status": status, "headers": headers,
            "body": body.decode(errors="replace")}


async def idle(a):
    t0 = time.monotonic()
    deadline = t0 + a.wait_s
    conns = [await asyncio.open_connection(a.addr, a.port)
             for _ in range(a.count)]
    print("scraper: ready", file=sys.stderr, flush=True)

    async def one(reader):
        data, closed = await read_all(reader, deadline)
        return closed, time.monotonic() - t0, len(data)
    res = await asyncio.gather(*(one(r) for r, _ in conns))
    for _, w in conns:
        w.close()
    closed = [t for c, t, _ in res if c]
    return {"count": a.count, "closed": len(closed),
            "first_closed_s": min(closed) if closed else None,
            "last_closed_s": max(closed) if closed else None,
            "bytes_received": sum(n for _, _, n in res)}


async def garbage(a):
    t0 = time.monotonic()
    deadline = t0 + a.wait_s
    junk = os.urandom(a.bytes)
    if a.ascii:
        junk = bytes(0x61 + b % 26 for b in junk)
    payload = a.prefix.encode() + junk
    reader, writer = await asyncio.open_connection(a.addr, a.port)
    sent, error = 0, None
    try:
        for off in range(0, len(payload), 65536):
            writer.write(payload[off:off + 65536])
            await asyncio.wait_for(writer.drain(),
                                   max(0.01, deadline - time.monotonic()))
            sent = off + len(payload[off:off + 65536])
    except (ConnectionResetError, BrokenPipeError, asyncio.TimeoutError) as e:
        error = type(e).__name__
    data, closed = await read_all(reader, deadline)
    writer.close()
    status, _, _ = parse(data)
    return {"sent": sent, "error": error, "status": status,
            "closed": closed, "seconds": time.monotonic() - t0}


async def parallel(a):
    raise_nofile(a.count + 64)
    t0 = time.monotonic()
    deadline = t0 + a.wait_s
    start = asyncio.Event()

    async def one():
        await start.wait()
        t = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(a.addr, a.port),
                max(0.01, deadline - t))
            writer.write(request("/metrics"))
            await writer.drain()
            data, _ = await read_all(reader, deadline)
            writer.close()
        except (OSError, asyncio.TimeoutError) as e:
            return "error:" + type(e).__name__, time.monotonic() - t
        status, headers, body = parse(data)
        ok = (status == 200 and b"failoverd_group_state" in body and
              len(body) == int(headers.get("content-length", -1)))
        return "ok" if ok else "bad:%s" % status, time.monotonic() - t
    tasks = [asyncio.ensure_future(one()) for _ in range(a.count)]
    await asyncio.sleep(0)
    start.set()
    res = await asyncio.gather(*tasks)
    kinds = {}
    for k, _ in res:
        kinds[k] = kinds.get(k, 0) + 1
    return {"count": a.count, "results": kinds,
            "max_s": max(t for _, t in res),
            "seconds": time.monotonic() - t0}


def main(argv):
    ap = argparse.ArgumentParser(prog="scraper.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("get", "idle", "garbage", "parallel"):
        p = sub.add_parser(name)
        p.add_argument("addr")
        p.add_argument("port", type=int)
        p.add_argument("--wait-s", type=float, default=15.0)
    sub.choices["get"].add_argument("--path", default="/metrics")
    sub.choices["get"].add_argument("--method", default="GET")
    sub.choices["idle"].add_argument("--count", type=int, default=1)
    sub.choices["garbage"].add_argument("--bytes", type=int, default=1 << 20)
    sub.choices["garbage"].add_argument("--prefix", default="")
    sub.choices["garbage"].add_argument("--ascii", action="store_true")
    sub.choices["parallel"].add_argument("--count", type=int, default=1000)
    a = ap.parse_args(argv)
    fn = {"get": get, "idle": idle, "garbage": garbage,
          "parallel": parallel}[a.cmd]
    print(json.dumps(asyncio.run(fn(a))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
