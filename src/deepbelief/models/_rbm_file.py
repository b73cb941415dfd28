"""What of an RBM goes into its model file: weights, biases and the training state (momentum
buffers, persistent chains, the random generator), so a loaded checkpoint resumes exactly."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .modelfile import SaveLoadMixin, random_state_from_saved, random_state_to_saved


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
        if getattr(self, "h_samples_", None) is not self._persistent:  # CD's chain ends (PCD's are "persistent")
            arrays["h_samples_"] = self.h_samples_
        state = {
            "n_features_in_": int(self.n_features_in_),
            "n_iter_": int(self.n_iter_),
            "history_": self.history_,
            "random_state_": rng_info,
        }
        return arrays, state

    def _set_state(self, arrays, state):
        self.components_ = arrays["components_"]
        self.intercept_hidden_ = arrays["intercept_hidden_"]
        self.intercept_visible_ = arrays["intercept_visible_"]
        if self.components_.shape != (len(self.intercept_hidden_), len(self.intercept_visible_)):
            raise ValueError("model file is inconsistent: weight and bias shapes do not match.")
        velocity = [arrays[f"velocity.{i}"] for i in range(3) if f"velocity.{i}" in arrays]
        self._velocity = velocity or None
        self._persistent = arrays.get("persistent")
        self.h_samples_ = arrays.get("h_samples_", self._persistent)
        if self.h_samples_ is None:  # a CD model saved by deepbelief 0.1.0, which kept no chains
            self.h_samples_ = np.zeros((self.batch_size, len(self.intercept_hidden_)), dtype=np.float32)
        self.random_state_ = random_state_from_saved(arrays["random_state_.keys"], state["random_state_"])
        self.n_features_in_ = state["n_features_in_"]
        self.n_iter_ = state["n_iter_"]
        self.history_ = state["history_"]
        return self
