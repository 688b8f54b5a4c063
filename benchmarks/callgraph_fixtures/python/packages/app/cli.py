from . import helpers
from app import run
from app.core import engine


def main():
    run()
    engine.run()
    helpers.cleanup()
