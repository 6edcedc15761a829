"""Mobility throughput: metrotwin's queue model against UXsim's C++ engine, same networks and
demand, in the same run.

Cases: a 20 x 20 grid (1,520 links of 500 m, 200 OD pairs between edge nodes, 50,000
vehicles departing over the first hour, 2 h simulated) and Sioux Falls (UXsim's dynamic
scenario, ~37k vehicles); ``--large`` adds 10^6 trips on a ~10^4-link grid (metrotwin only).

UXsim runs with ``cpp=True``, ``deltan=1`` (individual vehicles) and trajectory logging off
(``vehicle_logging_timestep_interval=-1``). Both report the simulation alone (numba already
compiled, UXsim's C++ built) and the whole run (building network, demand and, for
metrotwin, one Mesa agent per traveller). Medians over ``--repeats``.

Install the peer into the venv you run this with: ``pip install uxsim`` (1.15.1 measured).

    python benchmarks/mobility_uxsim.py [--repeats 3] [--large] [--refdata ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from metrotwin.models.mobility.demand import trips_from_rows
from metrotwin.models.mobility.mesa_model import TrafficModel
from metrotwin.models.mobility.demand import read_uxsim_csv
from metrotwin.models.mobility.network import grid_network
from metrotwin.models.mobility.simulation import TrafficSim


def grid_case(n=20, spacing=500.0, pairs=200, vehicles=50_000, t_dem=3600.0, seed=0):
    net = grid_network(n, spacing, free_speed=20.0, lanes=1)
    edge = [k for k in range(n * n) if k // n in (0, n - 1) or k % n in (0, n - 1)]
    rng = np.random.default_rng(seed)
    chosen = set()
    while len(chosen) < pairs:
        o, d = rng.choice(edge, 2, replace=False)
        chosen.add((int(o), int(d)))
    flow = vehicles / pairs / t_dem
    rows = np.array([[o, d, 0.0, t_dem, flow] for o, d in sorted(chosen)])
    return net, rows


def uxsim_run(net, rows, tmax, *, names=None):
    """UXsim on the same network (capacity given as capacity_out/in, as our links)."""
    import uxsim

    t0 = time.perf_counter()
    W = uxsim.World(name="b", deltan=1, tmax=tmax, print_mode=0, save_mode=0, show_mode=0,
                    cpp=True, vehicle_logging_timestep_interval=-1, random_seed=0)
    ids = net.node_ids
    for k in range(net.n_nodes):
        W.addNode(str(ids[k]), float(net.node_x[k]), float(net.node_y[k]))
    for l in range(net.n_links):
        cap = net.capacity[l] / 3600.0
        W.addLink(f"{ids[net.link_from[l]]}-{ids[net.link_to[l]]}", str(ids[net.link_from[l]]),
                  str(ids[net.link_to[l]]), length=float(net.length[l]),
                  free_flow_speed=float(net.free_speed[l]), number_of_lanes=int(net.lanes[l]),
                  capacity_out=cap, capacity_in=cap)
    for o, d, a, b, f in rows:
        W.adddemand(str(int(o)), str(int(d)), float(a), float(b), float(f))
    t1 = time.perf_counter()
    W.exec_simulation()
    t2 = time.perf_counter()
    W.analyzer.basic_analysis()
    return {"sim": t2 - t1, "whole": t2 - t0, "mean_tt": float(W.analyzer.average_travel_time),
            "completed": int(W.analyzer.trip_completed), "vehicles": int(W.analyzer.trip_all)}


def metrotwin_run(net, rows, tmax, *, agents=True):
    t0 = time.perf_counter()
    trips = trips_from_rows(net, rows)
    if agents:
        model = TrafficModel(net, trips, rng=0, step_length=tmax)
        sim = model.sim
    else:
        sim = TrafficSim(net, trips)
    t1 = time.perf_counter()
    sim.advance(tmax)
    t2 = time.perf_counter()
    tt, _ = sim.travel_times()
    done = np.isfinite(tt)
    return {"sim": t2 - t1, "whole": t2 - t0,
            "mean_tt": float(tt[done].mean()) if done.any() else float("nan"),
            "completed": int(np.isfinite(tt).sum()), "vehicles": len(trips),
            "agents": len(model.agents) if agents else 0}


def compare(label, net, rows, tmax, repeats, peer=True):
    metrotwin_run(net, rows[:5], 60.0)  # compile (cached) outside the timings
    ours = [metrotwin_run(net, rows, tmax) for _ in range(repeats)]
    med = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
    print(f"\n== {label}: {net.n_links} links, {ours[0]['vehicles']} vehicles, {tmax:g} s")
    print(f"metrotwin: simulation {med(ours, 'sim'):.2f} s, whole run (incl. {ours[0]['agents']} "
          f"Mesa agents) {med(ours, 'whole'):.2f} s, mean TT {ours[0]['mean_tt']:.0f} s, "
          f"completed {ours[0]['completed']}")
    if not peer:
        return
    try:
        import uxsim  # noqa: F401
    except ImportError:
        print("UXsim: not installed (pip install uxsim into this venv) - no comparison")
        return
    theirs = [uxsim_run(net, rows, tmax) for _ in range(repeats)]
    print(f"UXsim C++: simulation {med(theirs, 'sim'):.2f} s, whole run {med(theirs, 'whole'):.2f} s, "
          f"mean TT {theirs[0]['mean_tt']:.0f} s, completed {theirs[0]['completed']} of "
          f"{theirs[0]['vehicles']}")
    print(f"ratio UXsim / metrotwin: simulation {med(theirs, 'sim') / med(ours, 'sim'):.1f}x, "
          f"whole run {med(theirs, 'whole') / med(ours, 'whole'):.1f}x")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--large", action="store_true", help="also 10^6 trips on ~10^4 links")
    ap.add_argument("--only-large", action="store_true", help="only the 10^6-trip case")
    ap.add_argument("--refdata", default=os.environ.get("METROTWIN_REFDATA", "../shared/data"))
    args = ap.parse_args(argv)
    print(f"python {sys.version.split()[0]}, numba threads {os.environ.get('NUMBA_NUM_THREADS', 'default')}")
    folder = Path(args.refdata) / "mobility" / "SiouxFalls" / "uxsim_dynamic"
    if not args.only_large:
        net, rows = grid_case()
        compare("grid 20x20", net, rows, 7200.0, args.repeats)
    if args.only_large:
        pass
    elif folder.is_dir():
        net, rows = read_uxsim_csv(folder)
        compare("Sioux Falls (UXsim dynamic)", net, rows, 7200.0, args.repeats)
    else:
        print(f"Sioux Falls skipped: {folder} not found (set METROTWIN_REFDATA)")
    if args.large or args.only_large:
        net = grid_network(51, 300.0, free_speed=15.0, lanes=2)
        rng = np.random.default_rng(1)
        zones = rng.choice(net.n_nodes, 400, replace=False)
        o, d = rng.choice(zones, 5000), rng.choice(zones, 5000)
        keep = o != d
        flow = 1_000_000 / keep.sum() / 14400.0
        rows = np.column_stack([o[keep], d[keep], np.zeros(keep.sum()), np.full(keep.sum(), 14400.0),
                                np.full(keep.sum(), flow)])
        compare("large grid 51x51", net, rows, 6 * 3600.0, 1, peer=False)


if __name__ == "__main__":
    main()
