def close():
    pass


def handle():
    pass
