def target():
    pass


def other():
    pass


def caller():
    a = target
    b = a
    b()
    c, d = other, target
    c()


x = other
x()
