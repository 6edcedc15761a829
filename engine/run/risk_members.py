"""The members of a risk run (a scenario with ``hazards:``) and the scenario each one runs.

Members are events x samples. The events are the return periods of
``hazards.design_storms`` (else of ``hazards.heatwaves``); the samples ``k = 0 .. S-1`` are
the rows of the uncertain parameters' design (``metrotwin.run.sampling``; ``S`` is
``hazards.sampling.members``) with a rain-field seed drawn from (scenario seed, k). The same
sample ``k`` is used at every return period (common random numbers), so each sample has its
own damage-probability curve and the variants are compared on the same draws.

A member of a variant runs the variant's resolved scenario with:

- ``forcing.rainfall`` = the member's design storm as a uniform hyetograph
  (``design_hyetograph``), starting with the period (the schema refuses a storm longer than
  the period, and a ``forcing.rainfall`` beside design storms);
- ``forcing.weather.design_day``'s daily maximum and minimum = the heatwave's at the
  member's return period (``heatwave_design_day``; the design day's other fields are kept):
  a joint event, storm and heatwave of the same return period (an assumption of the design,
  stated in the report);
- each uncertain parameter (a dotted field, e.g. ``models.flood.manning_uniform``) set to
  its value in row ``k``; where a variant overrides the same field, the sample wins;
- no ``hazards`` section: a member is an ordinary deterministic run (its
  ``scenario.resolved.yaml`` says exactly what it ran).

Each (variant, member) is one run unit, ``<variant>/members/<member id>``, distributed over
the ranks as variants are (``metrotwin.hpc.ensemble``): its numbers do not depend on the
ranks. A gridded (moving-cell or random-field) storm would be handed to the unit's forcing
in memory (``metrotwin.run.forcing.Forcing(rain=(times, rates))``) drawn from the member's
``rain_seed``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml
from pydantic import BaseModel

from metrotwin.errors import ScenarioError
from metrotwin.results.output import RESOLVED_FILE
from metrotwin.results.risk.members import RiskMember, member_id
from metrotwin.run.design_storm import design_hyetograph
from metrotwin.run.heatwave import heatwave_design_day
from metrotwin.run.rain_fields import member_rain
from metrotwin.run.sampling import sample_parameters
from metrotwin.scenario.hazards import Hazards
from metrotwin.scenario.messages import short_repr

if TYPE_CHECKING:
    from metrotwin.city.state import CityState
    from metrotwin.scenario.scenario import Scenario

#: the folder of a variant's members, inside the variant's folder
MEMBERS_DIR = "members"
#: mixed into each sample's rain-field seed, so that it differs from any other stream drawn
#: from the scenario seed (e.g. the interventions' placement, key 0x1F7)
RAIN_SEED_KEY = 0x52A1


def events(hazards: Hazards) -> list[float]:
    """The return periods (years, ascending) the members run: the design storms', else the
    heatwaves'."""
    if hazards.design_storms is not None:
        return list(hazards.design_storms.return_periods)
    return sorted(hazards.heatwaves.daily_max_temperature)


def rain_seed(scenario_seed: int, sample: int) -> int:
    """The seed of sample ``sample``'s rain field: from (scenario seed, sample) alone, so the
    same on every number of ranks and at every return period.

    >>> rain_seed(42, 0) == rain_seed(42, 0), rain_seed(42, 0) == rain_seed(42, 1)
    (True, False)
    """
    state = np.random.SeedSequence([scenario_seed, sample, RAIN_SEED_KEY]).generate_state(2)
    return int(state[0]) << 32 | int(state[1])


def members_line(scenario: Scenario) -> str:
    """What a risk run of ``scenario`` runs, in one line (``metrotwin validate``)."""
    periods, count = events(scenario.hazards), sample_count(scenario.hazards)
    variants = len(scenario.variant_names)
    return (f"risk run: {len(periods)} return periods ({', '.join(f'{t:g}' for t in periods)} "
            f"years) x {count} samples = {len(periods) * count} members per variant, "
            f"{len(periods) * count * variants} member runs in all")


def unit_name(variant: str, member: str) -> str:
    """The run unit of ``member`` (its id) of ``variant``: its folder relative to the output
    folder, ``<variant>/members/<member>``."""
    return f"{variant}/{MEMBERS_DIR}/{member}"


def sample_count(hazards: Hazards) -> int:
    """The number of samples S: the rows of the sampling design (a Saltelli or Morris design
    has more rows than ``sampling.members``, its base samples or trajectories)."""
    return hazards.sampling.sample_count(len(hazards.uncertain))


@dataclass(frozen=True)
class Sample:
    """Sample ``index`` of the uncertain inputs: its parameter values and rain-field seed."""

    index: int
    parameters: dict[str, float]
    rain_seed: int


def samples(scenario: Scenario) -> list[Sample]:
    """The samples of ``scenario``'s hazards, in order (row ``k`` of the design is sample k)."""
    hazards = scenario.hazards
    drawn = sample_parameters(hazards.uncertain, hazards.sampling)
    return [Sample(k, {name: float(values[k]) for name, values in drawn.items()},
                   rain_seed(scenario.seed, k))
            for k in range(sample_count(hazards))]  # fmt: skip


def risk_members(scenario: Scenario, variant_dir: Path) -> list[RiskMember]:
    """The members of one variant whose folder is ``variant_dir``, in sorted order (return
    period, then sample): the order the summarizer gets them in."""
    return [RiskMember(member_id(t, s.index), Path(variant_dir) / MEMBERS_DIR /
                       member_id(t, s.index), t, s.index, dict(s.parameters))
            for t in events(scenario.hazards) for s in samples(scenario)]  # fmt: skip


def scenario_data(scenario: Scenario) -> dict:
    """``scenario`` as the plain data it validates from (models and interventions dumped by
    their own classes), to edit and validate again."""
    data = scenario.model_dump(mode="python", exclude={"models", "interventions"})
    data["models"] = {name: _plain(params) for name, params in scenario.models.items()}
    data["interventions"] = [_plain(i) for i in scenario.interventions]
    return data


def _plain_json(value):
    """``value`` with tuples as lists (YAML reads back lists)."""
    if isinstance(value, (list, tuple)):
        return [_plain_json(v) for v in value]
    return value


def _plain(section) -> dict:
    """A model's parameters or an intervention as a plain dict (a copy)."""
    if isinstance(section, BaseModel):
        return section.model_dump(mode="python")
    return copy.deepcopy(dict(section or {}))


def set_field(data: dict, dotted: str, value) -> None:
    """Set the field ``dotted`` (e.g. ``models.flood.manning_uniform``; a list entry by its
    index, ``interventions.0.capacity``) of scenario ``data`` to ``value``; KeyError naming
    the first part that is not there (a field is never created)."""
    parts = dotted.split(".")
    node = data
    for depth, part in enumerate(parts):
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            key = int(part)
        elif isinstance(node, dict) and part in node:
            key = part
        else:
            raise KeyError(where)
        if depth == len(parts) - 1:
            node[key] = value
        else:
            node = node[key]


def get_field(data: dict, dotted: str):
    """The value of field ``dotted`` of scenario ``data`` (as ``set_field`` names it); None
    where it is not there."""
    node = data
    for part in dotted.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def varied_fields(hazards: Hazards) -> list[str]:
    """The fields of a member's scenario its event and sample set."""
    fields = ["forcing.rainfall.hyetograph"] if hazards.design_storms is not None else []
    if hazards.heatwaves is not None:
        fields += [f"forcing.weather.design_day.air_temperature_{m}" for m in ("max", "min")]
    return fields + [p.name for p in hazards.uncertain]


def member_scenario(variant: Scenario, member: RiskMember, hazards: Hazards) -> Scenario:
    """The scenario member ``member`` of the variant whose resolved scenario is ``variant``
    runs (see the module's docstring); ScenarioError naming the member if it is not valid."""
    data = scenario_data(variant)
    data["hazards"], data["variants"] = None, {}  # (the baseline's resolved scenario has them)
    t = member.return_period
    if hazards.design_storms is not None:
        data["forcing"]["rainfall"] = {"hyetograph": design_hyetograph(hazards.design_storms, t)}
    if hazards.heatwaves is not None:
        weather = data["forcing"]["weather"]
        weather["design_day"] = heatwave_design_day(hazards.heatwaves, t, **weather["design_day"])
    for name, value in member.parameters.items():
        set_field(data, name, value)
    try:
        return type(variant).model_validate(data, context={"base_dir": None})
    except ValueError as err:  # pydantic's ValidationError is one
        raise ScenarioError(f"member {member.id}: {err}", source="hazards") from None


class RiskPlan:
    """The run units of a risk run of ``scenario``'s variants ``names``: every (variant,
    member), with the scenario each runs, all resolved (and so validated) up front."""

    def __init__(self, scenario: Scenario, names: Sequence[str]):
        self.scenario = scenario
        self.hazards: Hazards = scenario.hazards
        self.variants = list(names)
        self.members = {v: risk_members(scenario, Path(v)) for v in self.variants}
        self.scenarios: dict[str, Scenario] = {}
        #: unit -> (return period, rain-field seed) of its event and sample
        self.rain_keys: dict[str, tuple[float, int]] = {}
        seeds = [s.rain_seed for s in samples(scenario)]
        for v in self.variants:
            resolved = scenario.resolve_variant(v)
            for m in self.members[v]:
                self.scenarios[unit_name(v, m.id)] = member_scenario(resolved, m, self.hazards)
                self.rain_keys[unit_name(v, m.id)] = (m.return_period, seeds[m.sample])

    @property
    def units(self) -> list[str]:
        """Every unit, variant by variant, each variant's members in sorted order."""
        return list(self.scenarios)

    def scenario_of(self, unit: str) -> Scenario:
        return self.scenarios[unit]

    def rain_of(self, unit: str, city: CityState) -> tuple[np.ndarray, np.ndarray] | None:
        """The gridded rain (times s, rates m/s on ``city``'s tile) of ``unit`` when the design
        storms are spatial (a moving cell or a random field, ``metrotwin.run.rain_fields``),
        drawn on the whole domain from the sample's seed; None for a uniform storm (the
        member scenario's hyetograph)."""
        storms = self.hazards.design_storms
        if storms is None or storms.spatial is None:
            return None
        period, seed = self.rain_keys[unit]
        return member_rain(storms, period, seed, city.global_grid,
                           city.decomposition.local_window)  # fmt: skip

    def kept_differs(self, unit: str, folder: Path) -> str | None:
        """How the member ``unit`` a run published in ``folder`` differs from this plan's in
        what its event and sample set (``field: then -> now``), or None if it does not: a
        restart keeps only members of the same hazards (e.g. another sample count draws
        other Latin-hypercube rows for every sample)."""
        try:
            then = yaml.safe_load((folder / RESOLVED_FILE).read_text(encoding="utf-8"))
            then = then["scenario"]
        except (OSError, yaml.YAMLError, KeyError, TypeError):
            return f"{folder / RESOLVED_FILE} is unreadable"
        now = self.scenarios[unit].model_dump(mode="json")
        for name in varied_fields(self.hazards):
            old, new = get_field(then, name), get_field(now, name)
            if _plain_json(old) != _plain_json(new):
                return f"{name}: {short_repr(old)} -> {short_repr(new)}"
        return None

    def members_of(self, variant: str, variant_dir: Path) -> list[RiskMember]:
        """``variant``'s members (sorted) with their folders under ``variant_dir``."""
        folder = Path(variant_dir) / MEMBERS_DIR
        return [RiskMember(m.id, folder / m.id, m.return_period, m.sample, dict(m.parameters))
                for m in self.members[variant]]  # fmt: skip
