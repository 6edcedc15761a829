"""The results stage: what a run leaves behind, and the numbers computed from it.

``output`` (the run folder: CF netCDF fields and indicators, written atomically, read back by
``open_runs``), ``indicators`` (``Indicator``: a number a planner reads, with units),
``checkpoint`` with ``checkpoint_files`` and ``checkpoint_codec`` (what a restart needs, checked
before use), ``rundata`` (a run folder read back for pictures), ``georef`` (how a gridded
variable names its grid mapping), ``fields`` (what each output field means to a planner: label,
display units, which direction is better) and ``compare`` (the variants' indicators and maps
against the baseline). Results sit
below the run stage: a run writes through them, and nothing here needs the run stage.
Drawing them is ``metrotwin.viz``'s job.
"""
