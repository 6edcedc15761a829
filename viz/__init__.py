"""Pictures of runs: PyVista scenes, animations, ParaView output and the HTML comparison report.

Only this package imports PyVista, VTK and matplotlib (PyVista only when a 3D picture is asked
for). It draws what ``metrotwin.results`` computed: the run-folder reader is
``metrotwin.results.rundata``, the field semantics are ``metrotwin.results.fields``.

- ``colors``   : how each field is coloured (colour maps, shared scales, land-cover colours)
- ``scene``    : the 3D meshes (terrain, extruded buildings, water, heat drape, roads, agents)
- ``decimate`` : grids brought to a cell budget for 3D (block reductions)
- ``render``   : off-screen stills from named views (``render_run``), shared colour scales
- ``animate``  : MP4/GIF animations over the output times (``animate_run``)
- ``paraview`` : ``write_paraview(variant_dir)`` -> ``paraview/fields.pvd`` (+ ``network.pvd``)
- ``maps``     : 2D difference, change and road maps and time-series charts (matplotlib, Agg)
- ``report``   : ``compare_runs``: the ``Comparison`` of ``metrotwin.results.compare`` written
                 to files, and the self-contained ``report.html`` drawn from it, with
                 ``report_tables`` (cards, indicator tables), ``report_figures`` (maps, 3D
                 views, charts), ``report_format`` (numbers, changes, HTML) and ``report_style``
- ``quicklook`` : the PNGs of a city's layers for ``metrotwin inspect``
"""
