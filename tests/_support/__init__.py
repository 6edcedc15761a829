"""Helpers of the tests (not test modules): toy models and their fixtures, the MPI plugin and
launcher, fake and synthetic runs, picture checks, the city generator's reference."""
