class Animal:
    def speak(self):
        return self.sound()

    def sound(self):
        return "..."

    def describe(self):
        pass


class Dog(Animal):
    def sound(self):
        return "woof"


def main():
    d = Dog()
    d.speak()
    d.describe()
