"""The only code that talks to Kubernetes: discover Istio, fetch every artifact, stream one bundle.

Public entry point: `collector.collect.run_collect(options, progress) -> CollectResult`.
"""
