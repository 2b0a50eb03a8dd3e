#!/usr/bin/env python3
"""Solves Li & Lim instances with VROOM (pyvroom), for the routing benchmark to compare.

    vroom_lilim.py --budget SECONDS [--threads N] INSTANCE.txt...

Prints one JSON line per instance: {"name", "seconds", "routes": [[task id, ...], ...],
"unassigned": [task id, ...]}. The benchmark scores and checks the routes itself, in
double precision, exactly as it scores its own: nothing here is taken on trust.

VROOM takes integer times, so travel times are scaled by 1000 and rounded up (a route
feasible in VROOM's integers is feasible in exact arithmetic). VROOM minimises cost, not
vehicles, so each vehicle carries a fixed cost larger than any route: fewer vehicles
first, then distance, as the benchmark scores.
"""
import argparse
import json
import math
import os
import sys
import time
from datetime import timedelta

import vroom

SCALE = 1000
FIXED_COST = 10**9


def read(path):
    with open(path) as f:
        rows = [line.split() for line in f.read().splitlines() if line.strip()]
    fleet, capacity = int(rows[0][0]), int(rows[0][1])
    tasks = [
        dict(id=int(r[0]), x=float(r[1]), y=float(r[2]), demand=int(r[3]), earliest=int(r[4]),
             latest=int(r[5]), service=int(r[6]), delivery=int(r[8]))
        for r in rows[1:]
    ]
    return fleet, capacity, tasks


def solve(path, budget, threads):
    fleet, capacity, tasks = read(path)
    matrix = [
        [math.ceil(math.hypot(a["x"] - b["x"], a["y"] - b["y"]) * SCALE - 1e-9) for b in tasks]
        for a in tasks
    ]
    problem = vroom.Input()
    problem.set_durations_matrix("car", matrix)
    depot = tasks[0]
    for v in range(fleet):
        problem.add_vehicle(vroom.Vehicle(
            id=v, start=0, end=0, capacity=[capacity],
            time_window=vroom.TimeWindow(depot["earliest"] * SCALE, depot["latest"] * SCALE),
            costs=vroom.VehicleCosts(fixed=FIXED_COST)))

    def step(task):
        return vroom.ShipmentStep(
            id=task["id"], location=task["id"], default_service=task["service"] * SCALE,
            time_windows=[vroom.TimeWindow(task["earliest"] * SCALE, task["latest"] * SCALE)])

    for task in tasks[1:]:
        if task["demand"] > 0:
            problem.add_shipment(step(task), step(tasks[task["delivery"]]),
                                 amount=vroom.Amount([task["demand"]]))
    started = time.perf_counter()
    solution = problem.solve(exploration_level=5, nb_threads=threads,
                             timeout=timedelta(seconds=budget))
    seconds = time.perf_counter() - started
    answer = solution.to_dict()
    routes = [[s["id"] for s in r["steps"] if s["type"] in ("pickup", "delivery")]
              for r in answer["routes"]]
    unassigned = [u["id"] for u in answer.get("unassigned", [])]
    return dict(name=os.path.splitext(os.path.basename(path))[0], seconds=seconds,
                routes=routes, unassigned=unassigned)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, required=True, help="seconds per instance")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("instances", nargs="+")
    args = parser.parse_args()
    for path in args.instances:
        print(json.dumps(solve(path, args.budget, args.threads)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
