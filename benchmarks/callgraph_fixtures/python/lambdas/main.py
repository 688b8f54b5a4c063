def helper():
    pass


def other():
    pass


def caller():
    fn = lambda: helper()
    fn()
    pick = lambda: other
    pick()()


def apply(f):
    return f()


def user():
    apply(lambda: helper())
