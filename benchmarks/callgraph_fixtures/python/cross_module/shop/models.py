class Entity:
    def __init__(self, key):
        self.key = key

    def save(self):
        self.validate()

    def validate(self):
        pass


class Order(Entity):
    def validate(self):
        super().validate()


def _hidden():
    pass
