"""Orchestration: evaluate runs, check gates, compare reports, and build the report document every writer reads.

* :mod:`.schema`: the report document's typed layout and its version (``REPORT_SCHEMA``);
* :mod:`.seg_config`: :class:`~.seg_config.SegConfig`, everything that decides the numbers of a ``seg`` run;
* :mod:`.loading`: the one loader of pairs (evaluation and the HTML overlays) and :class:`~.loading.PairFailure`,
  the failure of a pair;
* :mod:`.pool`: where the cores go (worker processes or threads) and the allocator setting;
* :mod:`.seg`: evaluate pairs and build the ``seg`` document; :mod:`.shards`: shards and ``merge``;
* :mod:`.cls`: the ``cls`` engine and its document;
* :mod:`.statistics`: the summary block (statistics over images or samples, pooled values) of both;
* :mod:`.gates`: gates, their grammar, validation and results; :mod:`.compare`: comparing two reports.
* :mod:`.api`: :func:`~.api.evaluate`, a ``seg`` run with Python arguments (``lossctl.evaluate``).
"""
