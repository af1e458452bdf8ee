"""HTML report additions: traffic charts (inline SVG), HBONE per workload, L4 metrics, finding links."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import rules
from analyzer import analyze_bundle
from analyzer.report import html
from analyzer.views.source import open_source


def _page(bundle: Path, with_metrics: bool = True) -> str:
    result = analyze_bundle(open_source(bundle).files, rules.all_rules())
    assert result.metrics is not None  # every ztunnel's /metrics is in these bundles
    return html.render(result if with_metrics else dataclasses.replace(result, metrics=None))


def test_traffic_section_draws_one_bar_per_endpoint_inline(bookinfo_bundle: Path) -> None:
    page = _page(bookinfo_bundle)
    section = page[page.index('<section id="traffic">') : page.index('<section id="metrics">')]
    chart = section[section.index('id="traffic-reviews.default.svc.cluster.local"') :]
    chart = chart[: chart.index("</figure>")]
    assert chart.count("<rect ") == 3 and "even" in chart
    assert "<svg" in chart and "http://www.w3.org/2000/svg" in chart  # namespace only, nothing fetched
    assert re.search(r"<td>details-v1-[^<]+</td><td>[^<]+</td><td><span class=\"tag ok\">yes</span>", section)
    assert not re.search(r"(src|href)=\"https?://", page)


def test_metrics_table_lists_l4_counters_per_workload(bookinfo_bundle: Path) -> None:
    page = _page(bookinfo_bundle)
    section = page[page.index('<section id="metrics">') : page.index('<section id="rules">')]
    assert "<td>reviews-v1</td><td>destination</td>" in section and "RECEIVED BYTES" in section
    assert "Not included" in _page(bookinfo_bundle, with_metrics=False)


def test_certificate_findings_link_to_their_ztunnel_tables(broken_bundle: Path) -> None:
    page = _page(broken_bundle)
    links = re.findall(
        r'<tr class="finding"[^>]*data-code="(ZT2\d\d)"'  # a certificate finding's row ...
        r'(?:(?!</tr>).)*?<a class="view" href="#ztunnel-([a-z0-9-]+)">',  # ... links within that row
        page,
        re.S,
    )
    assert links
    for _, zt in links:
        assert f'id="ztunnel-{zt}"' in page
