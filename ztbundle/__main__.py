"""`python -m ztbundle`."""

from ztbundle.cli import entrypoint

entrypoint()
