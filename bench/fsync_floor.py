#!/usr/bin/env python3
"""The disk's own floor for Fsync latency: an ideal group commit with no HTTP and no CPU to speak of.

Usage: fsync_floor.py DIR RATE SECONDS RECORD_BYTES

Records are due at start + k/RATE (open loop, as bench/LoadGen offers them). One loop takes every record
due by now, appends them in one write to a file in DIR and fdatasyncs it, as Ingest's topic writer does
with a commit; each record's latency runs from its due time to the end of that fdatasync. So the
figures are what this disk, at this rate, costs any server that answers only after an fsync: the
reference for Ingest's Fsync p99 in run.sh step D. Prints one line of key=value pairs.
"""
import os
import sys
import time


def main():
    directory, rate, seconds, size = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    path = os.path.join(directory, "fsync-floor.bin")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    record = b"x" * size
    latencies, syncs, next_due = [], 0, 0
    total = int(rate * seconds)
    start = time.perf_counter()
    try:
        while next_due < total:
            now = time.perf_counter()
            due_now = min(total, int((now - start) * rate) + 1)
            if due_now <= next_due:
                time.sleep(start + next_due / rate - now)
                continue
            os.write(fd, record * (due_now - next_due))
            os.fdatasync(fd)
            done = time.perf_counter()
            latencies.extend(done - (start + k / rate) for k in range(next_due, due_now))
            next_due = due_now
            syncs += 1
    finally:
        os.close(fd)
        os.unlink(path)
    latencies.sort()

    def ms(q):
        return f"{latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000:.2f}"

    print(f"records={len(latencies)} syncs={syncs} records_per_sync={len(latencies) / syncs:.1f} "
          f"p50_ms={ms(0.5)} p99_ms={ms(0.99)} p999_ms={ms(0.999)} max_ms={latencies[-1] * 1000:.2f}")


if __name__ == "__main__":
    main()
