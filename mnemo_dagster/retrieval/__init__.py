"""Hybrid code search: the query (:mod:`.query`), the :class:`~.index.Index` client, the resident service.

Named ``retrieval``, not ``search``: ``mnemo_dagster.search`` is the public function.
"""
