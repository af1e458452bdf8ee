"""Tests of the collector and `ztbundle collect`."""
