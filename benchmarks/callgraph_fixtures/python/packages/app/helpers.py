def prepare():
    pass


def cleanup():
    pass
