"""What of an RBM goes into its model file: weights, biases and the training state (momentum
buffers, persistent chains, the random generator), so a loaded checkpoint resumes exactly; and
the checks that what a file holds is one consistent RBM."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._core.cd import check_momentum
from .modelfile import SaveLoadMixin, random_state_to_saved

# What training appends to every epoch: a loaded model's record must have them to resume.
HISTORY_KEYS = ("epoch", "reconstruction_error", "time", "learning_rate", "momentum",
                "batch_reconstruction_error")


def no_chains(n_rows, n_hidden):
    """Zeros of shape (n_rows, n_hidden) that take no memory (a read-only broadcast view): the
    ``h_samples_`` of files of deepbelief 0.1.0, which kept no chains. The size comes from
    ``batch_size``, which no array confirms, so nothing is allocated for it."""
    return np.broadcast_to(np.zeros((1, n_hidden), dtype=np.float32), (n_rows, n_hidden))


def _is_no_chains(h_samples):
    return h_samples.shape[0] > 1 and h_samples.strides[0] == 0


class RBMFileMixin(SaveLoadMixin):
    """``_get_state`` / ``_set_state`` of ``RBM`` for ``modelfile.save`` and ``load``."""

    def _get_state(self):
        check_is_fitted(self)
        arrays = {
            "components_": self.components_,
            "intercept_hidden_": self.intercept_hidden_,
            "intercept_visible_": self.intercept_visible_,
        }
        keys, rng_info = random_state_to_saved(self.random_state_)
        arrays["random_state_.keys"] = keys
        for i, v in enumerate(self._velocity or []):
            arrays[f"velocity.{i}"] = v
        if self._persistent is not None:
            arrays["persistent"] = self._persistent
        h_samples = getattr(self, "h_samples_", None)
        if h_samples is not self._persistent and not _is_no_chains(h_samples):
            arrays["h_samples_"] = h_samples  # CD's chain ends (PCD's are "persistent")
        state = {
            "n_features_in_": int(self.n_features_in_),
            "n_iter_": int(self.n_iter_),
            "history_": self.history_,
            "random_state_": rng_info,
        }
        return arrays, state

    def _set_state(self, saved):
        """Take the fitted state from ``saved`` (a ``_file_checks.Saved``), every array checked
        against ``n_components`` and ``n_features_in_``."""
        saved.check_params(lambda: check_momentum(self.momentum))
        n_hidden = self.n_components
        n_features = saved.integer("n_features_in_", minimum=1)
        self.components_ = saved.array("components_", (n_hidden, n_features),
                                       means="(n_components, n_features_in_)")
        self.intercept_hidden_ = saved.array("intercept_hidden_", (n_hidden,),
                                             means="one bias per hidden unit (n_components)")
        self.intercept_visible_ = saved.array("intercept_visible_", (n_features,),
                                              means="one bias per visible unit (n_features_in_)")
        self._velocity = saved.optional_array_list(
            "velocity", [(n_hidden, n_features), (n_features,), (n_hidden,)],
            means="momentum buffers shaped as components_, intercept_visible_, intercept_hidden_",
        )
        chains = f"a row per chain, a column for each of the model's {n_hidden} hidden units"
        self._persistent = saved.optional_array("persistent", (None, n_hidden), means=chains)
        self.h_samples_ = saved.optional_array("h_samples_", (None, n_hidden), means=chains)
        if self.h_samples_ is None:
            self.h_samples_ = self._persistent
        if self.h_samples_ is None:  # a CD model saved by deepbelief 0.1.0, which kept no chains
            if self.batch_size > np.iinfo(np.intp).max:
                saved.fail("params", f"has batch_size={self.batch_size}, more rows than any "
                           "array can have.")
            self.h_samples_ = no_chains(self.batch_size, n_hidden)
        self.random_state_ = saved.random_state()
        self.n_features_in_ = n_features
        self.n_iter_ = saved.integer("n_iter_")
        self.history_ = saved.history("history_", HISTORY_KEYS)
        return self
