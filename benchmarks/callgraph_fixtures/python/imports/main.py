import util
import models as m
from util import shout as loud


def main():
    util.slugify("a")
    loud("b")
    user = m.User()
    user.activate()
