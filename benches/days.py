#!/usr/bin/env python3
"""Splits the free booking days between the scenarios that book, in proportion to the
bookings each can make, so that no scenario books into another's days however fast the
machine. Usage: days.py FIRST_DAY LAST_DAY NAME:WEIGHT... (days after today, LAST_DAY
included); prints "NAME DAY0 DAYS" per scenario, in order. A weight is a scenario's bookings
per second relative to creation at 16 connections: creation at 64 connections makes about as
many, the mixed scenario books one request in ten but answers reads about three times as fast.
Each scenario stops cleanly when its days are full (common.lua), so a share only has to be
generous, never exact."""
import sys


def split(first, last, weighted):
    days = last - first + 1
    total = sum(w for _, w in weighted)
    if days < len(weighted) or total <= 0:
        raise SystemExit(f"{days} days cannot be split between {len(weighted)} scenarios")
    shares = [max(1, int(days * w / total)) for _, w in weighted]
    out, day0 = [], first
    for (name, _), n in zip(weighted, shares):
        out.append((name, day0, n))
        day0 += n
    return out


if __name__ == "__main__":
    first, last = int(sys.argv[1]), int(sys.argv[2])
    weighted = [(a.split(":")[0], float(a.split(":")[1])) for a in sys.argv[3:]]
    for name, day0, n in split(first, last, weighted):
        print(name, day0, n)
