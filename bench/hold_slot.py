#!/usr/bin/env python3
"""Holds one of a silo's Ingest:MaxConcurrentRequests places for as long as it runs: a POST whose body arrives at
640 bytes/s (above Kestrel's minimum body rate of 240 bytes/s, so it is not cut off), 1 MB announced (under
Ingest:MaxRecordBytes), i.e. ~26 minutes. With the silo's cap at 1, every other ingest request is answered 503:
bench/run.sh step E measures what a 503 costs that way.

    bench/hold_slot.py PORT [PATH]
"""
import socket
import sys
import time

port = int(sys.argv[1])
path = sys.argv[2] if len(sys.argv) > 2 else "/v1/topics/held"
length = 1_000_000
s = socket.create_connection(("127.0.0.1", port))
s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/octet-stream\r\nContent-Length: {length}\r\n\r\n".encode())
sent = 0
while sent < length:
    s.sendall(b"x" * 64)
    sent += 64
    time.sleep(0.1)
