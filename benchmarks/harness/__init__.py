"""The pieces of ``benchmarks/compare.py``: an adapter from any library's scores to embrec's
evaluation protocol, runners for the reference libraries and for embrec, and the report."""
