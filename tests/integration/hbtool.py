#!/usr/bin/python3
"""hbtool: forge, capture and replay failoverd heartbeats (IPv4), for tests.

Runs inside a namespace (ip netns exec NS hbtool.py ...), as root:

  forge   --src A --dst B [--key-file F | --random-key] [--name alpha]
          [--state active] [--priority 254] [--cluster 1] [--version 1]
          [--epoch N] [--seq N] [--length 128] [--interval-ms 20] [--count N]
      Send heartbeats with source address A (spoofed through a raw socket
      with IP_HDRINCL) and source port = destination port = --port.
  capture --src A [--iface eth0] [--duration-ms 1000] --out FILE
      Record the heartbeat payloads arriving from A (AF_PACKET), with their
      arrival times, as JSON lines. Prints "ready" on stderr once listening.
  replay  --src A --dst B --file FILE [--loops 1]
      Send the captured payloads again from A at their original pace.

Each prints one JSON summary line on stdout (packets sent or captured).
The wire format mirrors daemon/proto.h: 128 bytes, big-endian, HMAC-SHA256
over bytes 0..95 stored at 96..127.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import time

MAGIC = b"FOVD"
LEN = 128
MAC_OFF = 96
STATES = {"init": 0, "standby": 1, "active": 2, "fault": 3,
          "maintenance": 4, "stopping": 5}
HEADER = struct.Struct(">4sBBHQQQQQIBBBB32s8s")   # bytes 0..95
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
assert HEADER.size == MAC_OFF


def parse_key(text):
    """Key file text (hex or base64) -> bytes, as the daemon reads it."""
    t = text.strip()
    try:
        return bytes.fromhex(t)
    except ValueError:
        return base64.b64decode(t, validate=True)


def encode(key, cluster=1, version=1, mtype=1, epoch=1, seq=1, state=2,
           priority=254, flags=0, link_id=0, name="alpha", tx_time_us=0):
    body = HEADER.pack(MAGIC, version, mtype, cluster, epoch, seq, 0,
                       tx_time_us, 0, 0, state, priority, flags, link_id,
                       name.encode()[:31], b"")
    return body + hmac.new(key, body, hashlib.sha256).digest()


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def udp_packet(src, dst, sport, dport, payload):
    """A whole IPv4 + UDP packet with source src (any address we like)."""
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    ulen = 8 + len(payload)
    pseudo = s + d + struct.pack("!BBH", 0, socket.IPPROTO_UDP, ulen)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    ck = checksum(pseudo + udp) or 0xffff
    udp = udp[:6] + struct.pack("!H", ck) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen,
                     int.from_bytes(os.urandom(2), "big"), 0x4000, 64,
                     socket.IPPROTO_UDP, 0, s, d)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + udp


class Spoofer:
    def __init__(self, src, dst, port):
        self.src, self.dst, self.port = src, dst, port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                                  socket.IPPROTO_RAW)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        self.sent = 0

    def send(self, payload):
        pkt = udp_packet(self.src, self.dst, self.port, self.port, payload)
        try:
            self.sock.sendto(pkt, (self.dst, 0))
            self.sent += 1
        except OSError as e:
            print("hbtool: send: %s" % e, file=sys.stderr)


def paced(times, start=None):
    """Sleep until each of times (seconds after start, monotonic) comes."""
    start = time.monotonic() if start is None else start
    for i, t in enumerate(times):
        left = start + t - time.monotonic()
        if left > 0:
            time.sleep(left)
        yield i


def cmd_forge(a):
    if a.random_key:
        key = os.urandom(32)
    else:
        with open(a.key_file) as f:
            key = parse_key(f.read())
    sp = Spoofer(a.src, a.dst, a.port)
    t0 = time.monotonic()
    for i in paced([k * a.interval_ms / 1000.0 for k in range(a.count)], t0):
        pkt = encode(key, a.cluster, a.version, 1, a.epoch, a.seq + i,
                     STATES[a.state], a.priority, a.flags, 0, a.name,
                     int((time.monotonic() - t0) * 1e6))
        if a.length < len(pkt):
            pkt = pkt[:a.length]
        elif a.length > len(pkt):
            pkt += b"\0" * (a.length - len(pkt))
        sp.send(pkt)
    print(json.dumps({"sent": sp.sent}))


def cmd_capture(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                      socket.htons(ETH_P_IP))
    s.bind((a.iface, ETH_P_IP))
    src = socket.inet_aton(a.src)
    print("hbtool: ready", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    deadline = t0 + a.duration_ms / 1000.0
    n = 0
    with open(a.out, "w") as out:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                pkt, addr = s.recvfrom(65535)
            except socket.timeout:
                break
            if addr[2] == PACKET_OUTGOING or len(pkt) < 28:
                continue
            hl = (pkt[0] & 0x0f) * 4
            if pkt[9] != socket.IPPROTO_UDP or pkt[12:16] != src:
                continue
            sport, dport = struct.unpack("!HH", pkt[hl:hl + 4])
            if sport != a.port or dport != a.port:
                continue
            out.write(json.dumps({"t": time.monotonic() - t0,
                                  "payload": pkt[hl + 8:].hex()}) + "\n")
            n += 1
    print(json.dumps({"captured": n}))


def cmd_replay(a):
    with open(a.file) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    if not recs:
        sys.exit("hbtool: nothing to replay in %s" % a.file)
    sp = Spoofer(a.src, a.dst, a.port)
    base = recs[0]["t"]
    span = recs[-1]["t"] - base + 0.02
    times = [loop * span + r["t"] - base for loop in range(a.loops)
             for r in recs]
    for i in paced(times):
        sp.send(bytes.fromhex(recs[i % len(recs)]["payload"]))
    print(json.dumps({"sent": sp.sent}))


def main(argv):
    ap = argparse.ArgumentParser(prog="hbtool.py", description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("forge")
    f.add_argument("--src", required=True)
    f.add_argument("--dst", required=True)
    g = f.add_mutually_exclusive_group(required=True)
    g.add_argument("--key-file")
    g.add_argument("--random-key", action="store_true")
    f.add_argument("--name", default="alpha")
    f.add_argument("--state", default="active", choices=sorted(STATES))
    f.add_argument("--priority", type=int, default=254)
    f.add_argument("--flags", type=int, default=0)
    f.add_argument("--cluster", type=int, default=1)
    f.add_argument("--version", type=int, default=1)
    f.add_argument("--epoch", type=int, default=int(time.time()) + 3600)
    f.add_argument("--seq", type=int, default=1)
    f.add_argument("--length", type=int, default=LEN)
    f.add_argument("--interval-ms", type=float, default=20)
    f.add_argument("--count", type=int, default=1)
    c = sub.add_parser("capture")
    c.add_argument("--src", required=True)
    c.add_argument("--iface", default="eth0")
    c.add_argument("--duration-ms", type=int, default=1000)
    c.add_argument("--out", required=True)
    r = sub.add_parser("replay")
    r.add_argument("--src", required=True)
    r.add_argument("--dst", required=True)
    r.add_argument("--file", required=True)
    r.add_argument("--loops", type=int, default=1)
    for p in (f, c, r):
        p.add_argument("--port", type=int, default=694)
    a = ap.parse_args(argv)
    if getattr(a, "count", 1) > 100000 or getattr(a, "loops", 1) > 1000:
        sys.exit("hbtool: refusing more than 100000 packets / 1000 loops")
    {"forge": cmd_forge, "capture": cmd_capture, "replay": cmd_replay}[a.cmd](a)


if __name__ == "__main__":
    main(sys.argv[1:])
