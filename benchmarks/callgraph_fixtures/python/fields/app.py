from nlp.segmenter import Segmentation


class Pipeline:
    def __init__(self):
        self.seg = Segmentation()
        self.steps = [self.clean]

    def clean(self, text):
        return text

    def run(self, text):
        for step in self.steps:
            text = step(text)
        return self.seg.segment(text)
