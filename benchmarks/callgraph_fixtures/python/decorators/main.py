import functools


def logged(func):
    @functools.wraps(func)
    def wrapper(*args):
        return func(*args)

    return wrapper


def register(func):
    return func


@logged
def work():
    pass


@register
def task():
    pass


class Service:
    @staticmethod
    def build():
        pass

    @property
    def name(self):
        return "s"


def caller():
    work()
    task()
    Service.build()
