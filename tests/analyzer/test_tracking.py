"""Input tracking: a rule's read of a declared attribute is recorded, the model's own reads are not."""

from __future__ import annotations

from analyzer.model.tracking import untracked
from tests.builders import build_bundle
from ztbundle.layout import Input


def test_declared_attributes_record_their_inputs_and_untracked_reads_do_not() -> None:
    b = build_bundle({"pods": [{"ref": "shop/cart-0", "dataplane_mode": "ambient"}]})
    assert b.inputs_read == set()
    assert "cart-0" in [p.name for p in untracked(b, "pods")] and b.inputs_read == set()
    assert b.manifest is not None and b.now_override is None  # undeclared attributes: nothing recorded
    assert b.inputs_read == set()
    assert [p.name for p in b.ambient_pods()] == ["cart-0"]  # a declared method records both inputs
    assert b.inputs_read == {Input.PODS, Input.NAMESPACES}


def test_a_ztunnels_reads_land_in_its_bundles_set() -> None:
    b = build_bundle({"ztunnels": [{"node": "n1"}]})
    z = untracked(b, "ztunnels")[0]
    assert untracked(z, "xds") is not None and z.name and b.inputs_read == set()
    assert z.xds is not None
    assert b.inputs_read == {Input.ZTUNNEL_CONFIG}
