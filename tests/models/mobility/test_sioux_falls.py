"""Sioux Falls with its dynamic demand (UXsim's scenario, ~37k vehicles over 80 min) against
UXsim 1.15 (C++ engine, one vehicle per platoon) on the same network and demand."""

import csv
import time

import numpy as np
import pytest

from metrotwin.models.mobility.simulation import TrafficSim

TMAX = 7200.0


def run_uxsim(folder):
    uxsim = pytest.importorskip("uxsim", reason="the UXsim comparison needs uxsim (pip install uxsim)")
    W = uxsim.World(name="sf", deltan=1, tmax=TMAX, print_mode=0, save_mode=0, show_mode=0,
                    cpp=True, vehicle_logging_timestep_interval=-1, random_seed=0)
    with open(folder / "nodes.csv") as f:
        for r in csv.DictReader(f):
            W.addNode(r["name"], float(r["x_lon"]), float(r["y_lat"]))
    with open(folder / "links.csv") as f:
        for r in csv.DictReader(f):
            kw = {"merge_priority": float(r["merge_priority"])} if r["merge_priority"] else {}
            W.addLink(r["name"], r["start_node"], r["end_node"], length=float(r["length_m"]),
                      free_flow_speed=float(r["free_flow_speed_mps"]),
                      capacity_out=float(r["capacity_out_vehps"]),
                      capacity_in=float(r["capacity_in_vehps"]), **kw)
    with open(folder / "demand.csv") as f:
        for r in csv.DictReader(f):
            W.adddemand(r["orig"], r["dest"], float(r["t_start_s"]), float(r["t_end_s"]),
                        float(r["flow_vehps"]))
    t0 = time.perf_counter()
    W.exec_simulation()
    seconds = time.perf_counter() - t0
    dep = np.array([v.departure_time_in_second for v in W.VEHICLES.values()], float)
    arr = np.array([v.arrival_time if v.state == "end" else np.nan
                    for v in W.VEHICLES.values()], float)
    flows = {l.name: float(l.cum_departure[-1]) for l in W.LINKS}
    return dep, arr, flows, seconds


def test_sioux_falls_against_uxsim(refdata, sioux_falls):
    net, trips = sioux_falls
    folder = refdata / "mobility" / "SiouxFalls" / "uxsim_dynamic"
    u_dep, u_arr, u_flows, u_seconds = run_uxsim(folder)
    sim = TrafficSim(net, trips)
    t0 = time.perf_counter()
    sim.advance(TMAX)
    m_seconds = time.perf_counter() - t0
    tt, free = sim.travel_times()
    m_arr = trips.depart + tt
    # total travel time: every vehicle's time in the system up to the end of the run
    m_ttt = np.sum(np.where(np.isfinite(m_arr), m_arr, TMAX) - trips.depart)
    u_ttt = np.sum(np.where(np.isfinite(u_arr), u_arr, TMAX) - u_dep)
    m_mean, u_mean = np.nanmean(tt), np.nanmean(u_arr - u_dep)
    names = [f"{net.node_ids[a]}-{net.node_ids[b]}" for a, b in zip(net.link_from, net.link_to)]
    u_link = np.array([u_flows[n] for n in names])
    m_link = sim.exits.astype(float)
    rmse = np.sqrt(np.mean((m_link - u_link) ** 2)) / np.mean(u_link)
    corr = np.corrcoef(m_link, u_link)[0, 1]
    print(f"\nSioux Falls, {len(trips)} vehicles (UXsim {u_dep.size}), {TMAX:g} s:"
          f"\n  completed       metrotwin {np.isfinite(tt).sum():7d}   UXsim {np.isfinite(u_arr).sum():7d}"
          f"\n  total TT (veh h) metrotwin {m_ttt / 3600:9.0f} UXsim {u_ttt / 3600:9.0f}  "
          f"diff {100 * (m_ttt / u_ttt - 1):+.1f} %"
          f"\n  mean TT (s)     metrotwin {m_mean:7.0f}   UXsim {u_mean:7.0f}  "
          f"diff {100 * (m_mean / u_mean - 1):+.1f} %"
          f"\n  mean delay (s)  metrotwin {np.nanmean(tt - free):7.0f}"
          f"\n  link volumes    correlation {corr:.3f}, RMSE / mean {100 * rmse:.0f} %"
          f"\n  simulation (s)  metrotwin {m_seconds:.2f}   UXsim C++ {u_seconds:.2f}")
    assert len(trips) == u_dep.size  # the same vehicles are loaded
    # the tolerance: total travel time within 15 % of UXsim's
    assert abs(m_ttt / u_ttt - 1) < 0.15
    # link volumes: same routes in the main (a DUO and a queue model differ link by link)
    assert corr > 0.85
