class Base:
    def __init__(self):
        pass

    def save(self):
        pass

    def hook(self):
        pass


class Left(Base):
    def save(self):
        super().save()


class Right(Base):
    def save(self):
        super().save()

    def hook(self):
        pass


class Both(Left, Right):
    def save(self):
        super().save()


def main():
    b = Both()
    b.save()
    b.hook()
