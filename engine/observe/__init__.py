"""Observations: sensor readings in, checked, snapped to the grid; the analysis kernels."""
