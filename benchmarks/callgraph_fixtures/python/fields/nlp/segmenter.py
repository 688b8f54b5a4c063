class Segmentation:
    def segment(self, text):
        return split(text)

    def clean(self, text):
        return text


def split(text):
    return [text]
