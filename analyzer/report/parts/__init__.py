"""The HTML report's sections, one module each: `context(result)` gives what its template shows.

Each module pairs with `templates/<module>.html.j2`; `analyzer.report.html` lays them out in
page order. They read only the `AnalysisResult`.
"""
