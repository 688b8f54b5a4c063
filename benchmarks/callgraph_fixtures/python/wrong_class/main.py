class Cache:
    def get(self, key):
        return key

    def clear(self):
        pass


class Store:
    def get(self, key):
        return key

    def clear(self):
        pass


def use_store():
    store = Store()
    store.get("k")
    store.clear()


def use_cache(cache=None):
    cache = Cache()
    cache.clear()
