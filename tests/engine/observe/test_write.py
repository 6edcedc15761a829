"""observations.nc with the model's values at the sensors: written, read back, refused."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from metrotwin.observe.write import MODEL_VALUES, read_observations_nc, write_observations
from tests._support.observations import synthetic_observations


def test_model_values_written_per_variable_with_units_and_read_back(tmp_path):
    obs, values, _ = synthetic_observations()
    path = tmp_path / "v" / "observations.nc"
    write_observations(path, obs, model_values=values, attrs={"ensemble_members": 20})
    assert [p.name for p in path.parent.iterdir()] == ["observations.nc"]  # no temporary left
    with xr.open_dataset(path) as ds:
        for kind in [*MODEL_VALUES, "innovation"]:
            assert ds[f"water_depth_{kind}"].attrs["units"] == "m"
            assert ds[f"air_temperature_{kind}"].attrs["units"] == "K"
            assert ds[f"air_temperature_{kind}"].dims == ("obs",)
            assert "near-surface air temperature" in ds[f"air_temperature_{kind}"].long_name
        # a depth column is NaN on the temperature readings and the other way round
        depth_rows = ds["observed_variable"].values[np.repeat(np.arange(6),
                                                              ds["row_size"].values)]
        column = ds["water_depth_analysis_mean"].values
        assert np.all(np.isnan(column[depth_rows != "water_depth"]))
        assert np.all(np.isfinite(column[depth_rows == "water_depth"]))
    back, model, attrs = read_observations_nc(path)
    for name in ("station", "flag", "source", "value", "time", "x", "y", "cell", "error_std"):
        np.testing.assert_array_equal(getattr(back, name), getattr(obs, name), err_msg=name)
    assert list(back.sensor_id) == list(obs.sensor_id) and back.sources == obs.sources
    assert attrs["ensemble_members"] == 20 and attrs["featureType"] == "timeSeries"
    for kind, array in values.items():
        np.testing.assert_array_equal(model[kind], array, err_msg=kind)  # NaN where NaN
    # innovation: the reading minus the forecast ensemble mean, reading by reading
    np.testing.assert_array_equal(model["innovation"], obs.value - values["background_mean"])


def test_order_of_readings_kept_when_stations_interleave(tmp_path):
    obs, values, _ = synthetic_observations(steps=3)
    perm = np.random.default_rng(5).permutation(obs.n_obs)  # readings not grouped by station
    for name in ("station", "time", "value", "flag", "source"):
        setattr(obs, name, getattr(obs, name)[perm])
    values = {k: v[perm] for k, v in values.items()}
    write_observations(tmp_path / "o.nc", obs, model_values=values)
    back, model, _ = read_observations_nc(tmp_path / "o.nc")
    np.testing.assert_array_equal(back.station, obs.station)
    np.testing.assert_array_equal(model["analysis_mean"], values["analysis_mean"])


def test_without_model_values_no_model_columns(tmp_path):
    obs, _, _ = synthetic_observations(steps=2)
    write_observations(tmp_path / "o.nc", obs)
    _, model, _ = read_observations_nc(tmp_path / "o.nc")
    assert model == {}
    with xr.open_dataset(tmp_path / "o.nc") as ds:
        assert ds["water_depth"].attrs["ancillary_variables"] == "flag"
        assert not [v for v in ds.data_vars if v.endswith("_free_run")]


@pytest.mark.parametrize("values, match", [
    ({"analysis": np.zeros(24)}, "unknown kind 'analysis'"),
    ({"free_run": np.zeros(5)}, r"model_values\['free_run'\] has shape \(5,\).*\(12,\)"),
])  # fmt: skip
def test_bad_model_values_refused_before_writing(tmp_path, values, match):
    obs, _, _ = synthetic_observations(steps=2)
    with pytest.raises(ValueError, match=match):
        write_observations(tmp_path / "o.nc", obs, model_values=values)
    assert list(tmp_path.iterdir()) == []
