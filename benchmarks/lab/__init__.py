"""The lab: what measures the course and writes its results page, kept out of the installed course.

Students install ``sst5`` (the library the notebooks import); the quality report over committed runs
(:mod:`lab.quality`) and the FLOPs arithmetic of the speed benchmark (:mod:`lab.flops`) serve ``benchmarks/`` and
``scripts/update_readme.py`` only, so they live beside the benchmarks, importable from a checkout
(``benchmarks/`` on the path: the benchmark scripts run from it, the tests and ``update_readme.py`` add it).
"""
