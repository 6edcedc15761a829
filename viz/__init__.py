"""Pictures of runs: PyVista scenes, animations and the HTML comparison report.

Only this package imports PyVista.
"""
