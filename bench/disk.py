#!/usr/bin/python3
"""What this machine's disk allows a commit, without Parley: a write and its flush
(`pwrite` then `fdatasync`, as SQLite's WAL commit does with synchronous=FULL), timed one by
one, in a directory of the disk under test.

    /usr/bin/python3 bench/disk.py [--dir DIR] [--count N] [--size BYTES] [--rate PER_S]
                                   [--mode overwrite|append] [--json FILE]

`overwrite` rewrites a region written and flushed beforehand, as SQLite rewrites its WAL from
the start after each checkpoint; `append` writes past the end of the file each time, as a new
WAL does until its first restart (the file system then records the new size at each flush).
`--rate` paces the writes (0: one after the other). Reported: the flush's percentiles and its
longest, how many took over 5, 25 and 100 ms, and the CPU (user + system) and voluntary
context switches of a write and its flush (the pacing left out). It measures; it asserts
nothing.
"""

import argparse
import json
import os
import resource
import tempfile
import time

import media  # percentile (standard library only at import)


def measure(directory, count, size, rate, mode):
    region = 4000  # writes, for overwrite: the region rewritten in turn
    block = os.urandom(size)
    with tempfile.NamedTemporaryFile(dir=directory, prefix="parley-disk-") as handle:
        fd = handle.fileno()
        if mode == "overwrite":
            for index in range(region):
                os.pwrite(fd, block, index * size)
            os.fsync(fd)
        flushes = []
        cpu = 0.0  # seconds of this thread's CPU in the writes and flushes, the pacing left out
        switches = 0
        started = time.perf_counter()
        for index in range(count):
            offset = (index % region if mode == "overwrite" else index) * size
            usage = resource.getrusage(resource.RUSAGE_THREAD)
            cpu_started = time.thread_time()
            os.pwrite(fd, block, offset)
            flush_started = time.perf_counter()
            os.fdatasync(fd)
            flushes.append(time.perf_counter() - flush_started)
            cpu += time.thread_time() - cpu_started
            switches += resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw - usage.ru_nvcsw
            if rate > 0:
                due = started + (index + 1) / rate
                while time.perf_counter() < due:
                    time.sleep(max(0.0, due - time.perf_counter() - 0.0002))

    def flush_ms(share):  # three decimals: a flush is a fraction of a millisecond
        return round(media.percentile(flushes, share) * 1e3, 3)

    return {
        "mode": mode, "count": count, "bytes": size, "rate": rate,
        "flush_p50_ms": flush_ms(50), "flush_p99_ms": flush_ms(99),
        "flush_p999_ms": flush_ms(99.9), "flush_max_ms": flush_ms(100),
        "flushes_over_5ms": sum(1 for took in flushes if took > 0.005),
        "flushes_over_25ms": sum(1 for took in flushes if took > 0.025),
        "flushes_over_100ms": sum(1 for took in flushes if took > 0.1),
        "cpu_us_per_flush": round(cpu / count * 1e6, 1),
        "voluntary_switches_per_flush": round(switches / count, 2),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=".", help="a directory on the disk to measure")
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--size", type=int, default=20600,
                        help="bytes a write (default: five WAL frames of a 4 KiB page)")
    parser.add_argument("--rate", type=float, default=2000, help="writes a second; 0: unpaced")
    parser.add_argument("--mode", choices=["overwrite", "append"], default="overwrite")
    parser.add_argument("--json", help="also write the figures to this file")
    options = parser.parse_args()
    if options.count < 1 or options.size < 1 or options.rate < 0:
        parser.error("--count and --size must be positive, --rate not negative")
    figures = measure(options.dir, options.count, options.size, options.rate, options.mode)
    for name, value in figures.items():
        print(f"{name:30} {value}")
    if options.json:
        with open(options.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
