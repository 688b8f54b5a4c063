import shop
from shop import services
from shop.models import Entity


class Invoice(Entity):
    def total(self):
        self.save()


def notify():
    pass


def main():
    order = shop.make_order("k")
    order.save()
    invoice = Invoice("i")
    invoice.total()
    services.run_callback(notify)
    entity = shop.Entity("e")
