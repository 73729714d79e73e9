#!/usr/bin/env python3
# An A/B of two builds of a Google Benchmark binary on a noisy machine.
#
#   bench/ab_compare.py BIN_A BIN_B FILTER ROUNDS [benchmark flags...]
#
# Runs A and B alternately (A first in even rounds, B first in odd ones),
# ROUNDS times each, every benchmark matching FILTER for 0.1 s per run, and
# prints per benchmark the min and median CPU time (ns per iteration, or
# the ns_per_value counter where there is one) of each binary and the
# ratios B/A of the mins and of the medians. bench/RESULTS.md gives the
# commands it was used with.
import json, subprocess, sys, statistics, collections
a, b, flt, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
extra = sys.argv[5:]
res = {a: collections.defaultdict(list), b: collections.defaultdict(list)}
unit = {'ns': 1, 'us': 1e3, 'ms': 1e6, 's': 1e9}
for r in range(rounds):
    for binary in ((a, b) if r % 2 == 0 else (b, a)):
        out = subprocess.run([binary, '--benchmark_filter=' + flt, '--benchmark_format=json',
                              '--benchmark_min_time=0.1'] + extra,
                             capture_output=True, text=True).stdout
        for bm in json.loads(out)['benchmarks']:
            v = bm['cpu_time'] * unit[bm['time_unit']]
            if 'ns_per_value' in bm: v = bm['ns_per_value']*1e9
            res[binary][bm['name']].append(v)
print(f"{'benchmark':45s} {'A min':>10s} {'A med':>10s} {'B min':>10s} {'B med':>10s} {'B/A min':>8s} {'B/A med':>8s}")
for name in res[a]:
    xa, xb = res[a][name], res[b][name]
    ma, mb = min(xa), min(xb)
    da, db = statistics.median(xa), statistics.median(xb)
    print(f"{name:45s} {ma:10.1f} {da:10.1f} {mb:10.1f} {db:10.1f} {mb/ma:8.2f} {db/da:8.2f}")
