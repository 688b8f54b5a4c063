def callback():
    pass


def other_callback():
    pass


def apply(fn, *rest):
    fn()


def apply_kw(a, handler=None, **options):
    handler()
    options["extra"]()


def caller():
    apply(callback)
    apply_kw(1, handler=other_callback, extra=callback)
