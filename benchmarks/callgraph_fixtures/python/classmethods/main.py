class Config:
    def __init__(self, data):
        self.data = data

    @classmethod
    def load(cls, text):
        return cls.parse(text)

    @classmethod
    def parse(cls, text):
        return cls(text)

    def validate(self):
        pass


def main():
    config = Config.load("x")
    config.validate()
