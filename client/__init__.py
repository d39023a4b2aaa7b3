"""The ``paralab`` command: ``paralab list`` and ``paralab run`` in this process through the engine in
kernels/, ``paralab remote …`` over a server's HTTP API. kernels/ is the compute core and imports
nothing from here (tests/test_layers.py)."""
