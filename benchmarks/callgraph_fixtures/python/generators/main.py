def first():
    pass


def second():
    pass


def producer():
    yield first
    yield second


def consumer():
    for fn in producer():
        fn()
    squares = [g() for g in (first,)]
