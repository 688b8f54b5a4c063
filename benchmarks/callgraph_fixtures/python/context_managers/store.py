class Store:
    def put(self):
        pass

    def commit(self):
        pass


class Cursor:
    def fetch(self):
        pass


class Session:
    def __enter__(self):
        return Cursor()

    def __exit__(self, *exc):
        return False
