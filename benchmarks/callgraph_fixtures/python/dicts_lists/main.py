def save():
    pass


def load():
    pass


def render():
    pass


HANDLERS = {"save": save, "load": load}
PIPELINE = [render]


def dispatch(name):
    HANDLERS[name]()


def run_all():
    for step in PIPELINE:
        step()
    table = {}
    table["r"] = render
    table["r"]()
