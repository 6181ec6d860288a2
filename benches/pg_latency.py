#!/usr/bin/env python3
"""pgbench's per-transaction logs (-l) as the JSON line run.sh records.
Usage: pg_latency.py LOG_DIR TPS FAILED"""
import glob
import json
import sys

lat = sorted(int(line.split()[2]) for f in glob.glob(sys.argv[1] + "/pgbench_log.*") for line in open(f))


def p(q):
    return lat[min(len(lat) - 1, int(q * len(lat)))] / 1000


print(json.dumps({"requests": len(lat), "rps": float(sys.argv[2]), "p50_ms": p(0.5), "p99_ms": p(0.99),
                  "p999_ms": p(0.999), "errors": int(sys.argv[3])}))
