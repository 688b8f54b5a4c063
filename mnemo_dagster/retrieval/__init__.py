"""Hybrid code search: the query (:mod:`.query`), the :class:`~.index.Index` client, the resident service."""
