"""Training rows drawn afresh on every read: states sampled from the means of a layer below.

A DBN's upper RBM models the states of the layer under it. The variational bound and the
generative model see binary states h ~ q(h | v), not the probabilities E[h | v]; an upper RBM
trained on ``SampledRows`` sees such states, a new draw every time a row is read (so every epoch
sees other draws: the whole posterior, not one sample of it).
"""

from . import rbm_math as m
from .backend import RandomSource
from .batches import ArrayRows, RowStream


class SampledRows(RowStream):
    """States drawn from the means ``below`` holds (an array or a ``RowStream``), per read.

    ``kind`` is the unit type of those means ("bernoulli": 0/1 states with P(1) = mean;
    "gaussian": the mean plus unit-variance noise). ``chunks()`` yields the means themselves,
    so checks and column means see what the draws average to.
    """

    def __init__(self, below, kind, random_state):
        self.below = below if isinstance(below, RowStream) else ArrayRows(below)
        self.kind = kind
        self.shape = self.below.shape
        self._random_state = random_state
        self._sources = {}

    def chunk_rows(self):
        return self.below.chunk_rows()

    def rows(self, index, device):
        means = self.below.rows(index, device)
        key = str(means.device)
        if key not in self._sources:  # one stream per device, seeded once
            self._sources[key] = RandomSource(self._random_state, means.device)
        return m.sample_units(means, self.kind, self._sources[key])

    def chunks(self):
        return self.below.chunks()
