"""The comparison of a risk run's variants: for each variant its risk (read from its
``risk.json``, written by ``metrotwin.results.risk.summary``), what its interventions cost, its
cost-benefit against the baseline with bands over the samples, who gains (benefit per resident
by district) and which uncertain input matters (``sensitivity``). The report
(``metrotwin.viz.report_risk``) draws it.

The names of what this module reads from a risk variant folder are all in the block below.
Assumptions on their meaning (the summarizer's contract): EAD in EUR/yr of ``price_year``
(JRC maximum damages: 2010 when absent), heat deaths as expected attributable deaths per year,
the ``*_per_sample`` lists indexed by the sample ``k`` of the uncertain-input design.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from metrotwin.errors import DataSourceError
from metrotwin.results.compare_context import added_interventions
from metrotwin.results.layout import BASELINE, RESOLVED_FILE
from metrotwin.results.risk import economics as econ
from metrotwin.results.risk.costs import InterventionCost, intervention_costs
from metrotwin.results.risk.sensitivity import Sensitivity, sensitivity, to_unit
from metrotwin.scenario.hazards import Hazards

# -- what a risk variant folder holds (metrotwin.results.risk.summary writes it) -------------
RISK_FILE = "risk.json"
MEMBERS_DIR = "members"
EAD = "ead"  # {"mean", "p05", "p50", "p95"} EUR/yr
EAD_PER_SAMPLE = "ead_per_sample"  # [EUR/yr by sample k]
EAD_BY_DISTRICT = "ead_by_district"  # {district: {"mean", ...}}
HEAT_DEATHS = "heat_deaths"  # {"mean", ...} deaths/yr
HEAT_DEATHS_PER_SAMPLE = "heat_deaths_per_sample"  # [deaths/yr by sample k]
RESIDENTS_BY_DISTRICT = "residents_by_district"  # {district: persons}
MEMBERS = "members"  # [{"id", "return_period", "sample", "parameters"}]
DAMAGE_PRICE_YEAR = "price_year"  # year of the EUR of the damages
#: set in a member's resolved scenario when every member ran on a split grid
SPLIT = "_every_member_split"
#: in fields.nc: (return_period, depth_threshold, y, x)
EXCEEDANCE = "flood_depth_exceedance_probability"
#: the price year of the JRC maximum damages (Huizinga et al. 2017), when risk.json has none
JRC_PRICE_YEAR = 2010
#: the headline indicators the sensitivity is computed for: (name, per-sample key)
INDICATORS = (("expected annual damage", EAD_PER_SAMPLE),
              ("heat deaths per year", HEAT_DEATHS_PER_SAMPLE))  # fmt: skip


@dataclass
class VariantRisk:
    """One variant of a risk run: its ``risk.json`` (``risk``), the present costs of the
    interventions it adds to the baseline's, its cost-benefit against the baseline (``cba``,
    None for the baseline), benefit per resident by district (EUR/yr per person, flood part)
    and the district that gains most, and the sensitivity of its headline indicators."""

    name: str
    folder: Path
    risk: dict
    costs: list[InterventionCost] = field(default_factory=list)
    cba: dict | None = None
    per_resident: dict[str, float] = field(default_factory=dict)
    gains_most: str | None = None
    sensitivity: list[Sensitivity] = field(default_factory=list)

    @property
    def present_cost(self) -> float:
        """Present value of the interventions' costs over the horizon (EUR)."""
        return float(sum(c.total for c in self.costs))

    def per_sample(self, key: str) -> np.ndarray | None:
        values = self.risk.get(key)
        return None if values is None else np.asarray(values, dtype=float)


@dataclass
class RiskComparison:
    """The variants of a risk run (baseline first), with the economics they were valued by."""

    variants: list[VariantRisk]
    hazards: Hazards
    scenario: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def baseline(self) -> VariantRisk:
        return self.variants[0]

    @property
    def others(self) -> list[VariantRisk]:
        return self.variants[1:]

    def ranking(self) -> list[VariantRisk]:
        """The variants other than the baseline, best median NPV first."""
        return sorted(self.others, key=lambda v: -v.cba["npv"]["p50"] if v.cba else np.inf)

    def to_json(self) -> dict:
        """What the report shows, for programs (``risk_comparison.json`` beside it)."""
        return {
            "scenario": self.scenario, "baseline": self.baseline.name,
            "economics": self.hazards.economics.model_dump(mode="json"),
            "ranking": [v.name for v in self.ranking()], "notes": self.notes,
            "variants": {v.name: {
                EAD: v.risk.get(EAD), HEAT_DEATHS: v.risk.get(HEAT_DEATHS),
                "present_cost": v.present_cost,
                "costs": [{**c.__dict__, "total": c.total} for c in v.costs],
                "cost_benefit": v.cba, "benefit_per_resident": v.per_resident,
                "gains_most": v.gains_most,
                "sensitivity": [s.to_json() for s in v.sensitivity],
            } for v in self.variants},
        }  # fmt: skip


def is_risk_folder(folder: Path) -> bool:
    """Whether ``folder`` is the variant folder of a risk run (it holds ``risk.json``)."""
    return (Path(folder) / RISK_FILE).is_file()


def read_risk(folder: Path) -> dict:
    """The ``risk.json`` of a risk variant folder; DataSourceError naming it when unreadable."""
    path = Path(folder) / RISK_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataSourceError(f"{path}: cannot read the risk summary ({err})") from None
    if not isinstance(data, dict):
        raise DataSourceError(f"{path}: a risk summary is a JSON object, got {type(data).__name__}")
    return {**data, **_headline(data, path)}


def _band(entry: dict | None) -> tuple[dict | None, list | None]:
    """({mean, p05, p50, p95}, per sample) of one of risk.json's annual entries."""
    if not isinstance(entry, dict):
        return None, None
    return {k: v for k, v in entry.items() if k != "per_sample"}, entry.get("per_sample")


def _headline(data: dict, path: Path) -> dict:
    """The comparison's keys (``EAD``, ``HEAT_DEATHS``, ...) read from the summarizer's
    document (``metrotwin.results.risk.summary``: sections ``flood`` and ``heat``, each
    None when the members had no flood model or no heatwave)."""
    try:
        flood, heat = data.get("flood") or {}, data.get("heat") or {}
        ead = flood.get("expected_annual_damage") or {}
        out = dict(zip((EAD, EAD_PER_SAMPLE), _band(ead.get("total"))))
        out[EAD_BY_DISTRICT] = {d: _band(b)[0] for d, b in (ead.get("by_district") or {}).items()}
        out.update(zip((HEAT_DEATHS, HEAT_DEATHS_PER_SAMPLE),
                       _band(heat.get("expected_annual_deaths"))))  # fmt: skip
    except (AttributeError, TypeError) as err:
        raise DataSourceError(f"{path}: not a risk summary of this version ({err})") from None
    return {k: v for k, v in out.items() if v is not None and v != {}}


def member_resolved(folder: Path, risk: dict) -> dict:
    """The ``scenario.resolved.yaml`` of one of the variant's members ({} if none): what the
    members share (the interventions, the grid, ``hazards``). A member that ran on one rank
    is preferred: a member whose grid was split over ranks counted the cells its
    interventions changed on one tile only (``run.interventions_cells_changed``), which would
    undercount the costs; when every member ran split, ``SPLIT`` is set in what is returned."""
    ids = sorted(str(m.get("id")) for m in risk.get(MEMBERS, []) if isinstance(m, dict))
    first = None
    for member in ids:
        path = Path(folder) / MEMBERS_DIR / member / RESOLVED_FILE
        if path.is_file():
            try:
                resolved = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError) as err:
                raise DataSourceError(f"{path}: not readable YAML ({err})") from None
            if int((resolved.get("run") or {}).get("ranks", 1)) == 1:
                return resolved
            first = first or resolved
    return {**first, SPLIT: True} if first else {}


def cell_area(resolved: dict) -> float:
    """Cell area (m2) of the grid in a resolved scenario (0 when it says none)."""
    domain = (resolved.get("scenario") or {}).get("domain") or {}
    for kind in ("generated", "data"):
        if isinstance(domain.get(kind), dict) and domain[kind].get("resolution"):
            return float(domain[kind]["resolution"]) ** 2
    return 0.0


def compare_risk(folders: list[Path]) -> RiskComparison:
    """The comparison of risk variant folders (the baseline's named ``baseline``, else the
    first). Raises DataSourceError or RiskInputError naming what cannot be used."""
    folders = sorted(map(Path, folders), key=lambda f: f.name != BASELINE)
    if not folders:
        raise DataSourceError("nothing to compare: no risk variant folders given")
    variants = [VariantRisk(name=f.name, folder=f, risk=read_risk(f)) for f in folders]
    resolved = {v.name: member_resolved(v.folder, v.risk) for v in variants}
    scenario = resolved[variants[0].name].get("scenario") or {}
    # the run's hazards section (economics, sampling design, uncertain inputs) is in the
    # summary; a member's own scenario has none (it is one deterministic run)
    recorded = variants[0].risk.get("hazards") or scenario.get("hazards")
    try:
        hazards = Hazards.model_validate(recorded or {})
    except ValueError as err:
        raise DataSourceError(f"{variants[0].folder / RISK_FILE}: its hazards section is not "
                              f"valid ({err})") from None
    comp = RiskComparison(variants=variants, hazards=hazards,
                          scenario=str(scenario.get("name", "")))
    if not recorded:
        comp.notes.append("The run recorded no hazards section: default economics.")
    base_items = list(scenario.get("interventions") or [])
    for v in variants:
        _value(comp, v, resolved[v.name], base_items)
    return comp


def _value(comp: RiskComparison, v: VariantRisk, resolved: dict, base_items: list) -> None:
    """Fill ``v``'s costs, sensitivity and (for a variant other than the baseline) its
    cost-benefit and equity."""
    items = list((resolved.get("scenario") or {}).get("interventions") or [])
    own = added_interventions(items, base_items) if v is not comp.baseline else []
    changed = (resolved.get("run") or {}).get("interventions_cells_changed") or {}
    if resolved.get(SPLIT) and own:
        comp.notes.append(f"Every member of {v.name} ran on a grid split over ranks: the cells "
                          "its interventions changed, and so its costs, are counted on one "
                          "tile only (too low). Run with at most as many ranks as member runs "
                          "for exact costs.")  # fmt: skip
    v.costs = intervention_costs(own, len(items) - len(own), changed, cell_area(resolved),
                                 comp.hazards.economics)  # fmt: skip
    v.sensitivity = [_sensitivity(comp, v, name, key) for name, key in INDICATORS
                     if v.per_sample(key) is not None]  # fmt: skip
    if v is not comp.baseline:
        _cost_benefit(comp, v)


def _cost_benefit(comp: RiskComparison, v: VariantRisk) -> None:
    """``v``'s benefits against the baseline, sample by sample; NPV, BCR and equity."""
    base = comp.baseline
    benefits = econ.annual_benefits(
        base.per_sample(EAD_PER_SAMPLE), v.per_sample(EAD_PER_SAMPLE),
        base.per_sample(HEAT_DEATHS_PER_SAMPLE), v.per_sample(HEAT_DEATHS_PER_SAMPLE),
        comp.hazards.economics,
        damage_price_year=int(v.risk.get(DAMAGE_PRICE_YEAR, JRC_PRICE_YEAR)),
    )  # fmt: skip
    v.cba = econ.cost_benefit(benefits, v.present_cost, comp.hazards.economics)
    v.per_resident = econ.benefit_per_resident(
        _mean_by_district(base.risk), _mean_by_district(v.risk),
        base.risk.get(RESIDENTS_BY_DISTRICT) or {},
    )  # fmt: skip
    v.gains_most = econ.gains_most(v.per_resident)


def _mean_by_district(risk: dict) -> dict[str, float]:
    return {d: float(b["mean"]) for d, b in (risk.get(EAD_BY_DISTRICT) or {}).items()}


def _sensitivity(comp: RiskComparison, v: VariantRisk, indicator: str, key: str) -> Sensitivity:
    """Sensitivity of ``v``'s per-sample ``key`` to the uncertain inputs, the inputs of sample
    ``k`` read from its members."""
    y = v.per_sample(key)
    by_sample = {int(m["sample"]): m.get("parameters") or {} for m in v.risk.get(MEMBERS, [])}
    params = comp.hazards.uncertain
    unit_x = np.full((len(y), len(params)), np.nan)
    for k in range(len(y)):
        for j, p in enumerate(params):
            if p.name in by_sample.get(k, {}):
                unit_x[k, j] = to_unit(p, by_sample[k][p.name])
    names = [p.name for p in params]
    if np.isnan(unit_x).any():
        return Sensitivity(indicator=indicator, method="none", names=names,
                           note="the members do not record every sample's inputs")  # fmt: skip
    return sensitivity(indicator, comp.hazards.sampling, names, unit_x, y)
