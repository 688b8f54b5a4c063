from .core.engine import run
