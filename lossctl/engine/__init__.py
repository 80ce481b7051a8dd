"""Orchestration: evaluate pairs (:mod:`.seg`) and samples (:mod:`.cls`), check gates (:mod:`.gates`), compare
reports (:mod:`.compare`), and build the report document every writer reads."""
