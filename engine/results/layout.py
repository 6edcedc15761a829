"""The layout of a run folder: the files of each variant folder, named once.

``OUT/<variant>/fields.nc`` (CF netCDF fields; the master of the tile files of a decomposed
run), ``indicators.json``, ``scenario.resolved.yaml`` and ``run.log``. The writer
(``metrotwin.results.output``) and the one reader (``metrotwin.results.rundata``) both name the
files from here.
"""

FIELDS_FILE = "fields.nc"
INDICATORS_FILE = "indicators.json"
RESOLVED_FILE = "scenario.resolved.yaml"
LOG_FILE = "run.log"
#: the variant the comparison measures changes from
BASELINE = "baseline"
