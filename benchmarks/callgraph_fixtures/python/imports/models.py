class User:
    def activate(self):
        pass
