def on_click():
    pass


def on_close():
    pass


class Button:
    def __init__(self, handler):
        self.handler = handler
        self.closer = on_close

    def press(self):
        self.handler()

    def close(self):
        self.closer()


def main():
    button = Button(on_click)
    button.press()
    button.close()
