"""The scenario stage: what a user writes, and the messages that answer a mistake in it.

``scenario`` (the pydantic schema of a scenario file, ``Scenario`` and ``load_scenario``),
``schema`` (``StrictModel``, the base of every schema: unknown keys refused), ``yamlsafe`` (the
YAML loader that refuses duplicate keys and alias bombs), ``units`` (durations and times) and
``messages`` (bounded quoting of user values in error messages). Nothing here imports a later
stage at module level; the lookups of model parameters, interventions and data sources that
validation needs happen inside the validators.
"""
