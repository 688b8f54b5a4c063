def slugify(text):
    return text


def shout(text):
    return text
