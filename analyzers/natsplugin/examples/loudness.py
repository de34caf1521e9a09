#!/usr/bin/env python3
"""Example Witness plugin in Python 3, standard library only.

It speaks the NATS text protocol directly over a socket, subscribes to
witness.plugin.loudness.audio (queue group witness.plugin.loudness), and
answers every audio chunk (JSON metadata line + S16LE PCM) with the events
it found: "plugin.loud" when the level rises above --dbfs and
"plugin.loud.end" when it falls 6 dB below again, once per episode per
participant. Run: loudness.py nats://127.0.0.1:4222 [--dbfs -20]
"""
import argparse
import array
import json
import math
import socket
import sys
from urllib.parse import urlparse

SUBJECT = "witness.plugin.loudness.audio"
QUEUE = "witness.plugin.loudness"


def level_dbfs(pcm: bytes) -> float:
    a = array.array("h")
    a.frombytes(pcm[: len(pcm) // 2 * 2])
    if sys.byteorder != "little":
        a.byteswap()
    if not a:
        return -120.0
    rms = math.sqrt(sum(v * v for v in a) / len(a)) / 32768.0
    return 20 * math.log10(rms) if rms > 0 else -120.0


class Loudness:
    def __init__(self, threshold):
        self.threshold = threshold
        self.loud = {}  # (room, participant) -> bool

    def handle(self, meta, pcm):
        key = (meta.get("room"), meta.get("participant"))
        db = level_dbfs(pcm)
        events = []
        was = self.loud.get(key, False)
        if not was and db > self.threshold:
            self.loud[key] = True
            events.append({"kind": "plugin.loud", "severity": "warning",
                           "media_time_ns": meta["pts_ns"], "data": {"dbfs": round(db, 1)}})
        elif was and db < self.threshold - 6:
            self.loud[key] = False
            events.append({"kind": "plugin.loud.end", "severity": "info",
                           "media_time_ns": meta["pts_ns"], "data": {"dbfs": round(db, 1)}})
        return {"events": events}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--dbfs", type=float, default=-20.0)
    args = ap.parse_args()
    u = urlparse(args.url)
    sock = socket.create_connection((u.hostname or "127.0.0.1", u.port or 4222))
    rd = sock.makefile("rb")
    if not rd.readline().startswith(b"INFO"):
        sys.exit("not a NATS server")
    connect = {"verbose": False, "pedantic": False, "name": "loudness-plugin", "lang": "python3", "version": "1"}
    sock.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\n")
    sock.sendall(b"SUB %s %s 1\r\n" % (SUBJECT.encode(), QUEUE.encode()))
    sock.sendall(b"PING\r\n")
    plugin = Loudness(args.dbfs)
    ready = False
    while True:
        line = rd.readline()
        if not line:
            return  # server closed the connection
        if line.startswith(b"PING"):
            sock.sendall(b"PONG\r\n")
        elif line.startswith(b"PONG"):
            if not ready:  # the server has processed our SUB
                ready = True
                print("ready", flush=True)
        elif line.startswith(b"-ERR"):
            sys.exit(line.decode().strip())
        elif line.startswith(b"MSG"):
            parts = line.split()
            reply = parts[3] if len(parts) == 5 else None
            size = int(parts[-1])
            body = rd.read(size)
            rd.read(2)  # CRLF
            head, _, pcm = body.partition(b"\n")
            try:
                out = plugin.handle(json.loads(head), pcm)
            except (ValueError, KeyError) as e:
                out = {"events": [], "error": str(e)}
            if reply:
                data = json.dumps(out).encode()
                sock.sendall(b"PUB %s %d\r\n%s\r\n" % (reply, len(data), data))


if __name__ == "__main__":
    main()
