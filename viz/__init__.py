"""Pictures of runs: PyVista scenes, animations, ParaView output and the HTML comparison report.

Only this package imports PyVista (and only when a 3D picture is asked for).

- ``rundata``  : run directories, variants, times (``--time``), decimation to a cell budget
- ``colors``   : how each field is shown (labels, display units, colour maps, shared scales)
- ``scene``    : the 3D meshes (terrain, extruded buildings, water, heat drape, roads, agents)
- ``render``   : off-screen stills from named views (``render_run``), shared colour scales
- ``animate``  : MP4/GIF animations over the output times (``animate_run``)
- ``paraview`` : ``write_paraview(variant_dir)`` -> ``paraview/fields.pvd`` (+ ``network.pvd``)
- ``maps``     : 2D difference, change and road maps and time-series charts (matplotlib, Agg)
- ``report``   : the self-contained ``report.html`` of ``metrotwin.results.compare.compare_runs``
"""
