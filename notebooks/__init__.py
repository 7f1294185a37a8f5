"""The course notebooks, installed with the package as ``sst5.notebooks`` (see ``sst5.course.notebook_path``)."""
