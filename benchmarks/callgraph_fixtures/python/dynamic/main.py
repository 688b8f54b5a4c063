import functools


class Worker:
    def run(self):
        pass

    def stop(self):
        pass

    def pause(self):
        pass


def task(x):
    pass


def main():
    w = Worker()
    run = w.run
    run()
    getattr(w, "pause")()
    functools.partial(task, 1)()
    handlers = [w.run, w.stop]
    for handler in handlers:
        handler()
