"""ztbundle: collect and analyze Istio ambient-mode (ztunnel) diagnostic bundles."""

__version__ = "0.1.0"
