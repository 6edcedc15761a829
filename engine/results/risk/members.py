"""The members of a probabilistic run, as the risk computations see them.

A risk run (a scenario with a ``hazards:`` section) runs every variant once per member: a
member is one event (a return period's design storm and/or heatwave) with one sample of the
uncertain inputs (the parameters drawn by ``hazards.sampling`` and the seed of any random rain
field). The samples are common to the events (common random numbers): sample ``k`` has the
same parameters at every return period, so that each sample has a damage-probability curve
(its EAD) and variants are compared on the same draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RiskMember:
    """One member's run of one variant.

    ``id``: its name, e.g. ``T100-s003`` (the folder name); ``folder``: its run folder (a
    standard variant folder: fields.nc, indicators.json, scenario.resolved.yaml);
    ``return_period``: of its event (years, > 1); ``sample``: the index ``k`` of its sample
    of the uncertain inputs (0-based); ``parameters``: uncertain input name -> its value.
    """

    id: str
    folder: Path
    return_period: float
    sample: int
    parameters: dict[str, float] = field(default_factory=dict)


def member_id(return_period: float, sample: int) -> str:
    """The name of the member of event ``return_period`` (years) and sample ``sample``.

    >>> member_id(100.0, 3), member_id(2.33, 12)
    ('T100-s003', 'T2.33-s012')
    """
    return f"T{return_period:g}-s{sample:03d}"
