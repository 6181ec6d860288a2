#!/usr/bin/env python3
"""Prints benches/run.sh's results as a table. Usage: report.py RESULTS.jsonl STARTUP_MS"""
import json
import os
import platform
import sys

rows = {}
for line in open(sys.argv[1]):
    d = json.loads(line); rows[d["scenario"]] = d
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"machine: {os.cpu_count()} CPUs, {cpu}, kernel {platform.release()}")
print("| scenario | req/s | p50 ms | p99 ms | p99.9 ms | errors |")
print("|---|---:|---:|---:|---:|---:|")
# Creation at 16 connections runs in rounds, each followed by PostgreSQL's (see run.sh).
rounds = sorted(int(k.rsplit("_r", 1)[1]) for k in rows if k.startswith("create_c16_r"))
names = [("availability_c16", "(1) availability, 16 conns, saturated"),
         ("availability_2000rps", "(1) availability, paced at ~2,000 req/s (20 conns, random waits)"),
         ("static_2000rps", "(1) floor: a static asset, paced the same")]
for r in rounds:
    names += [(f"create_c16_r{r}", f"(2) booking creation, 16 conns, round {r}"),
              (f"pgbench_c16_r{r}", f"PostgreSQL 15 insert + EXCLUDE gist, pgbench 16 clients, round {r}")]
names += [("create_c64", "(2) booking creation, 64 conns"),
          ("mixed_c16", "(3) mixed 90/10, 16 conns"),
          ("availability_2000rps_idle10k", "(4) availability ~2,000 req/s + 10,000 idle conns")]
for key, label in names:
    if key in rows:
        d = rows[key]
        print(f"| {label} | {d['rps']:,.0f} | {d['p50_ms']:.2f} | {d['p99_ms']:.2f} | {d['p999_ms']:.2f} | {d['errors']} |")
print()
ratios = [rows[f"create_c16_r{r}"]["rps"] / rows[f"pgbench_c16_r{r}"]["rps"]
          for r in rounds if f"pgbench_c16_r{r}" in rows]
if ratios:
    median = sorted(ratios)[len(ratios) // 2] if len(ratios) % 2 else \
        sum(sorted(ratios)[len(ratios) // 2 - 1:len(ratios) // 2 + 1]) / 2
    print(f"booking creation, 16 conns, ours / PostgreSQL by round: "
          f"{', '.join(f'{x:.2f}x' for x in ratios)}; median {median:.2f}x")
print(f"start-up to ready with the 1M-booking database: {sys.argv[2]} ms")
if "steal" in rows:
    print(f"CPU stolen by the hypervisor during the run: {rows['steal']['steal_pct']}% "
          "(figures taken above a few % are not this server's)")
if "idle10k" in rows:
    i = rows["idle10k"]
    print(f"10,000 idle HTTPS conns: server peak RSS {i['peak_rss_mb']} MB (before: {i['rss_before_mb']} MB); "
          f"server-side established at the end: {i['server_side_established']}; client: {i['held']}")
if "rss_after_load" in rows:
    print(f"peak RSS after scenarios 1-3: {rows['rss_after_load']['peak_rss_mb']} MB")
# A scenario that filled its days stopped early, cleanly: its figures are for the time it ran.
for key, label in names:
    d = rows.get(key, {})
    if d.get("days_full"):
        print(f"{key}: its {d['days']} days (from day {d['day0']}) were full after "
              f"{d['requests']:,} requests in {d['duration_s']:.1f} s: it stopped early "
              "(benches/days.py gives it more days by raising its weight)")
failed = [key for key, _ in names if rows.get(key, {}).get("errors", 0)]
if failed:
    print(f"\nINVALID RUN: requests failed in {', '.join(failed)} (see the server log); "
          "throughput and latency of failed requests are not the server's real figures")
    sys.exit(1)
