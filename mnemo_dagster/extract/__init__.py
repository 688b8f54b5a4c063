"""Bytes to a parsed file, with no I/O: languages, tree-sitter parsing, tag queries, chunks, symbols.

The entry point is :func:`mnemo_dagster.extract.file.parse_file`."""
