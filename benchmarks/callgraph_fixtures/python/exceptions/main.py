class AppError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def check(value):
    if not value:
        raise AppError("empty")


def handle():
    try:
        check(0)
    except AppError as error:
        report(error)


def report(error):
    pass
