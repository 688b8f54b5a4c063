from shop.models import Order


def make_order(key):
    return Order(key)


def run_callback(callback):
    callback()
