"""Observations: sensor readings in (CSV, CF timeSeries netCDF, SensorThings JSON), converted
to the model's units and UTC, snapped to cells and road links, checked (every reading kept with
a flag), written to ``observations.nc``; and the LETKF analysis kernels.

``schema`` (the scenario's ``observations:`` section), ``variables`` (what sensors may
measure), ``files`` with ``read_csv``, ``read_netcdf`` and ``read_sensorthings`` (the readers,
returning ``readings``), ``units`` (conversion with pint), ``snap`` (positions onto cells and
links), ``flags`` and ``qc`` (one quality flag per reading), ``table`` (every reading in one
table), ``load`` (the section read, checked and snapped), ``write`` (``observations.nc``),
``sample`` (synthetic observations from a finished run) and ``letkf`` (the analysis kernels).

A stage of its own between city and run: it imports the city-level modules (grid, state,
output, errors), never the runner, the models or viz.
"""

from metrotwin.observe.flags import FLAG, FLAG_MEANINGS, GOOD, REJECTIONS, WITHHELD
from metrotwin.observe.letkf import clip_negative, gaspari_cohn, letkf_update
from metrotwin.observe.load import load_observations
from metrotwin.observe.qc import ObservationsUnusable, assemble, require_usable
from metrotwin.observe.sample import sample_run
from metrotwin.scenario.observations import ObservationsSection
from metrotwin.observe.table import ObservationSet
from metrotwin.observe.variables import OBSERVED, ObservedVariable
from metrotwin.observe.write import OBSERVATIONS_FILE, write_observations

__all__ = [
    "FLAG", "FLAG_MEANINGS", "GOOD", "OBSERVATIONS_FILE", "OBSERVED", "REJECTIONS", "WITHHELD",
    "ObservationSet", "ObservationsSection", "ObservationsUnusable", "ObservedVariable",
    "assemble", "clip_negative", "gaspari_cohn", "letkf_update", "load_observations",
    "require_usable", "sample_run", "write_observations",
]  # fmt: skip
