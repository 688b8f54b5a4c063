"""Configuration: every ``MNEMO_*`` variable (:mod:`.settings`) and every default (:mod:`.defaults`)."""
