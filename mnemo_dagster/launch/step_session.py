"""Imported first by the step server that ``mnemo index`` starts: it puts the server, and so every step
it forks, in a session of its own.

A terminal's Ctrl-C then reaches ``mnemo`` alone, which stops its steps itself: Dagster asks each one to
stop, and :mod:`mnemo_dagster.launch.interrupts` kills any that has not within a few seconds. Without
this the signal also hit every step and the helpers Dagster starts beside it (its log tailers), which
died printing tracebacks over the terminal, while a hung step ignored it.
"""

import os

os.setsid()
