"""The results stage: what a run leaves behind, and the numbers computed from it.

- ``layout``: the files of a variant folder; ``output`` writes them (CF netCDF fields,
  indicators, the resolved scenario; atomically); ``rundata`` is the one reader of run folders
  (``open_runs``, ``open_variants``; it refuses a decomposed run with a lost tile file).
- ``indicators`` (``Indicator``: a number a planner reads, with units, and which direction of
  its change is better) and ``fields`` (what each output field means: label, display units,
  summary over the run, direction).
- ``georef``: how a gridded variable names its grid mapping.
- ``checkpoint`` with ``checkpoint_files`` and ``checkpoint_codec``: what a restart needs,
  checked before use.
- ``compare`` (``compare(run_dir) -> Comparison``): the variants against the baseline, built
  from ``compare_rows`` (indicators), ``compare_maps`` (summary and change maps) and
  ``compare_context`` (period, interventions), held in ``comparison`` and written by
  ``compare_csv`` and ``compare_netcdf``.

Results sit below the run stage: a run writes through them, and nothing here needs the run
stage. Drawing them is ``metrotwin.viz``'s job.
"""
