"""The course's committed benchmark results, shipped with the package (read by the notebooks)."""
