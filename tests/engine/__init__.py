"""Tests of the engine, by stage: scenario, city, observe, run, results."""
