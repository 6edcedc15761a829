"""The ParaView output reads back with PyVista/VTK with the right values at sample points,
at the right times, in one piece or one piece per rank."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv
import xarray as xr

from metrotwin.viz.paraview import read_pvd, write_paraview

from tests._support.synthetic import BUILDING, DEPTH, NX, NY, TIMES, WATER, write_synthetic_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return write_synthetic_run(tmp_path_factory.mktemp("pv") / "baseline")


SAMPLES = [(0, 0), (WATER[0].start, WATER[1].start), (20, 33), (NY - 1, NX - 1), (7, 41)]


def value_at(mesh, ds, name, row, col):
    """The value of ``name`` in the VTK cell that holds the centre of grid cell (row, col)."""
    point = [float(ds.x[col]), float(ds.y[row]), 0.0]
    cell = mesh.find_containing_cell(point)
    assert cell >= 0, f"no cell holds {point}"
    return mesh.cell_data[name][cell]


def test_pvd_reads_back_with_the_values_of_fields_nc(run):
    pvd = write_paraview(run)
    assert pvd == run / "paraview" / "fields.pvd"
    entries = read_pvd(pvd)
    assert [t for t, _, _ in entries] == TIMES
    ds = xr.open_dataset(run / "fields.nc")
    for i, (_, part, path) in enumerate(entries):
        mesh = pv.read(path)
        assert part == 0 and mesh.n_cells == NX * NY
        for row, col in SAMPLES:
            for name in ("flood_water_thickness", "universal_thermal_comfort_index"):
                assert value_at(mesh, ds, name, row, col) == pytest.approx(
                    float(ds[name][i, row, col]), abs=1e-5
                )  # float32 in both files
            assert value_at(mesh, ds, "building_height", row, col) == ds.building_height[row, col]
    # and through ParaView's own reader of the collection, at a chosen time
    reader = pv.get_reader(str(pvd))
    assert list(reader.time_values) == TIMES
    reader.set_active_time_value(600.0)
    mesh = reader.read()[0]
    assert value_at(
        mesh, ds, "flood_water_thickness", WATER[0].start + 1, WATER[1].start + 1
    ) == pytest.approx(DEPTH)
    assert value_at(mesh, ds, "flood_water_thickness", WATER[0].stop + 2, WATER[1].start) == 0
    assert value_at(mesh, ds, "building_height", BUILDING[0].start, BUILDING[1].start) == 60.0


def test_one_piece_per_rank_covers_the_grid_once(run):
    pvd = write_paraview(run, topology=(2, 3))
    ds = xr.open_dataset(run / "fields.nc")
    entries = read_pvd(pvd)
    assert len(entries) == 6 * len(TIMES)
    at_600 = [pv.read(p) for t, _, p in entries if t == 600.0]
    assert sorted(part for t, part, _ in entries if t == 600.0) == list(range(6))
    assert sum(m.n_cells for m in at_600) == NX * NY
    for row, col in SAMPLES:
        point = [float(ds.x[col]), float(ds.y[row]), 0.0]
        holders = [m for m in at_600 if m.find_containing_cell(point) >= 0]
        assert holders, point
        assert value_at(holders[0], ds, "flood_water_thickness", row, col) == pytest.approx(
            float(ds.flood_water_thickness[1, row, col])
        )


def test_a_rank_writes_only_its_own_pieces(run, tmp_path):
    import shutil

    copy = tmp_path / "baseline"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("paraview"))
    write_paraview(copy, topology=(1, 2), rank=1)
    written = sorted(p.name for p in (copy / "paraview").iterdir())
    assert written == [f"fields_t{i:04d}_p1.vti" for i in range(len(TIMES))]


def test_road_network_series(run):
    write_paraview(run)
    entries = read_pvd(run / "paraview" / "network.pvd")
    assert [t for t, _, _ in entries] == TIMES
    net = pv.read(entries[1][2])
    assert net.n_cells == 4
    np.testing.assert_array_equal(net.cell_data["link_closed"], [0, 0, 1, 1])
    np.testing.assert_allclose(net.cell_data["link_speed"], [10, 10, 2, 2])


def test_static_only_run_gives_one_time_step(tmp_path):
    folder = write_synthetic_run(tmp_path / "baseline", with_outputs=False)
    entries = read_pvd(write_paraview(folder))
    assert [(t, part) for t, part, _ in entries] == [(0.0, 0)]
    mesh = pv.read(entries[0][2])
    assert "surface_altitude" in mesh.cell_data and "flood_water_thickness" not in mesh.cell_data
