class Engine:
    def __init__(self):
        self.started = False

    def start(self):
        self.started = True


class Car:
    def __init__(self, engine):
        self.engine = engine

    def drive(self):
        self.engine.start()


def main():
    car = Car(Engine())
    car.drive()
