"""sst5: the tested library behind the SST-5 fine-grained sentiment course."""

__version__ = "0.1.0"
