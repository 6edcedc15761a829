"""The run stage: models and what advances them.

``model`` (the ``Model`` protocol), ``registry`` (which models exist, by entry point),
``scenario`` (a scenario validated against them: ``Scenario``, ``load_scenario``, the public
loader: each model's ``Params`` and the registered interventions),
``context`` (what a model receives at ``initialize``), ``forcing`` and ``weather`` (time-dependent
inputs), ``coupler`` (models in lock-step), ``runner`` (every variant of a scenario into one run
folder, on a communicator: a serial run is a one-group ensemble), ``variant_run`` (one variant's
time loop, checkpoints and files), ``stop`` (signals that save a checkpoint and stop), ``outdir`` and ``runlock`` (the output folder, checked and locked before anything runs),
``estimate`` (a run's cost before it starts), ``profile`` (where time and memory go) and
``testing`` (a state and context built by hand, for model tests and doctests).
"""
