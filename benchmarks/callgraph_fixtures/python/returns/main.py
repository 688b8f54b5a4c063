def leaf():
    pass


def factory():
    return leaf


def nested_factory():
    def inner():
        leaf()

    return inner


def caller():
    factory()()
    fn = nested_factory()
    fn()
