import os
import json


class Parser:
    def load(self, text):
        return json.loads(text)


class Reader:
    def load(self, path):
        return os.path.exists(path)


def process(thing):
    thing.load("x")
    print(len("abc"))
