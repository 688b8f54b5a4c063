"""The index database: the only SQL of mnemo. Tables, the engine, per-family reads and writes, queries."""
