"""`canon_ip`'s shortcut for dotted quads is what `ipaddress` prints for them."""

from __future__ import annotations

import ipaddress

from hypothesis import example, given, settings
from hypothesis import strategies as st

from analyzer.xds.common import canon_ip


def _by_ipaddress(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return text.strip()


octets = st.one_of(st.integers(0, 300).map(str), st.sampled_from(["00", "01", "007", "255", "256", "1٣", ""]))


@settings(max_examples=2000, deadline=None)
@given(
    st.one_of(
        st.lists(octets, min_size=3, max_size=5).map(".".join),
        st.text(alphabet="0123456789.:abcdefABCDEF ", max_size=20),
    ).flatmap(lambda s: st.sampled_from([s, f" {s}", f"{s}\n", f"::ffff:{s}"]))
)
@example("10.244.1.5")
@example("010.244.1.5")
@example("255.255.255.255")
def test_canonical_text_of_an_ip_is_what_ipaddress_prints(text: str) -> None:
    assert canon_ip(text) == _by_ipaddress(text)
