"""STUB HTML report (minimal, escaped, self-contained); the HTML owner replaces this module.

Contract kept by the replacement: `render(result: AnalysisResult) -> str`, one file, no network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer import AnalysisResult

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ztbundle report</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:.2em .6em;text-align:left;vertical-align:top}
.error{color:#b00}.warning{color:#a60}.info{color:#06a}</style></head><body>
<h1>ztbundle report</h1>
<p>Collected {{ r.manifest.collected_at.isoformat() }} · context {{ r.manifest.context or "-" }} ·
{{ r.summary_line() }}</p>
<table><tr><th>severity</th><th>code</th><th>subject</th><th>message</th><th>evidence</th></tr>
{% for f in r.findings %}<tr class="{{ f.severity.value }}"><td>{{ f.severity.value }}</td>
<td><a href="#{{ f.code }}">{{ f.code }}</a> {{ f.rule }}</td><td>{{ f.subject }}</td><td>{{ f.message }}</td>
<td>{{ f.evidence | join(", ") }}</td></tr>{% endfor %}</table>
{% if r.skipped %}<h2>Skipped rules</h2><ul>
{% for s in r.skipped %}<li>{{ s.code }} {{ s.rule }}: {{ s.reason }}</li>
{% endfor %}</ul>{% endif %}
<h2>Rules</h2>{% for rule in r.rules %}<h3 id="{{ rule.code }}">{{ rule.code }} {{ rule.name }}</h3>
<pre>{{ rule.documentation }}</pre>{% endfor %}
</body></html>
"""


def render(result: AnalysisResult) -> str:
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_PAGE).render(r=result)
