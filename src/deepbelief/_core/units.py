"""Kinds of units: each one a small class that every model speaks to its units through.

A layer of units with biases ``b`` and input ``u`` from the other layer (so the total input is
``x = b + u``) has an energy ``energy(s, b) - s.u``. Everything else follows from the unit's
cumulant generating function ``Gamma(x) = log sum_s exp(-energy(s, b) + s.u)`` (Tubiana et
al.'s ``cgf_from_inputs``): the conditional mean ``E[s | x] = Gamma'(x)``, the term a summed-out
layer adds to the free energy of the other, and the log partition function of independent units
(the base model of AIS). Bernoulli and Gaussian units have one value per unit, which is also the
sufficient statistic of the gradient (``<s u>`` and ``<s>``).

Adding a kind of unit means writing one class here and registering it in ``UNITS``:

- the methods documented on ``Bernoulli`` (``mean_``, ``sample``, ``noise``, ``sample_from_inputs``, ``energy``,
  ``bias_constant``, ``cumulant``, ``relative_cumulant``, ``annealed_cumulant``,
  ``log_partition``, ``log_partition_at_zero``, ``base_rate_bias``, ``log_prob``, ``entropy``,
  ``states``) on tensors whose last dimension is ``n_values(n_units)`` wide;
- ``n_values`` and ``statistics`` when a unit's state is not one number: a Potts unit with q
  states keeps its state one-hot, ``n_values(n_sites) = n_sites * q`` columns, reshaped to
  ``(B, n_sites, q)`` inside the class (softmax over the last axis for ``mean_``, and so on),
  so that weights stay 2-D for the matrix products of CD, AIS and sampling;
- ``value_range``, the data it accepts, ``data_values`` when training data must hold only
  some values in it (spins: -1 and +1), and ``n_states`` (None for continuous units).

Every method keeps the exact torch operations the models used before units were classes (their
results stay equal bit for bit), so some compute one quantity in two ways: ``cumulant`` takes
the total input, ``relative_cumulant`` drops the terms that cancel in differences, and
``annealed_cumulant`` is the one AIS needs between the base model and the RBM.
"""

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


class Units:
    """The interface of a kind of unit; see the module docstring. Instances hold no state."""

    name = None
    value_range = (-math.inf, math.inf)  # values the data may take
    data_values = None  # the only values training data may hold (None: any in value_range)

    def n_values(self, n_units):
        """Columns a layer of ``n_units`` units takes in a state tensor."""
        return n_units

    def statistics(self, x):
        """Sufficient statistics of states ``x`` for the gradient (here the states themselves)."""
        return x

    def n_states(self, n_units):
        """Joint states of ``n_units`` units for exact enumeration, or None (continuous)."""
        return None

    def accepts(self, low, high):
        """Whether data with values in [low, high] fits these units."""
        return not (low < self.value_range[0] or high > self.value_range[1])

    def __repr__(self):
        return f"{type(self).__name__}()"


class Bernoulli(Units):
    """Binary units, s in {0, 1}: energy -b.s, Gamma(x) = softplus(x), mean sigmoid(x)."""

    name = "bernoulli"
    value_range = (0.0, 1.0)

    def mean_(self, x):
        """E[s | total input x], written over ``x`` (B, n)."""
        return torch.sigmoid_(x)

    def sample(self, mean, source, out=None):
        """States given their means; ``source`` is a ``RandomSource`` or a ``torch.Generator``."""
        if isinstance(source, torch.Generator):
            return torch.bernoulli(mean, generator=source, out=out)
        return source.bernoulli(mean, out=out)

    def noise(self, shape, source, device):
        """Random states that start a Gibbs chain "from noise": each unit on with probability
        1/2. ``source`` is a ``RandomSource``."""
        return source.bernoulli(torch.full(shape, 0.5, device=device))

    def sample_from_inputs(self, x, generator):
        """States given the total input ``x``, drawn from a ``torch.Generator`` (AIS)."""
        u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        return torch.lt(u, torch.sigmoid(x)).to(x.dtype)

    def energy(self, x, bias):
        """The bias term of the energy of states ``x``, one value per row: -b.x."""
        return -(x @ bias)

    def bias_constant(self, bias):
        """The part of ``energy`` that does not depend on the states, a float: none."""
        return 0.0

    def cumulant(self, x, bias):
        """Gamma of the total input ``x`` (B, n) summed per row: what summing these units out
        adds to -F of the other layer. Bernoulli units do not need ``bias``."""
        return F.softplus(x).sum(dim=1)

    def relative_cumulant(self, x):
        """``cumulant`` up to terms that do not depend on ``x``, summed over the last axis."""
        return F.softplus(x).sum(dim=-1)

    def annealed_cumulant(self, x, beta, bias_constant):
        """log sum_s exp(-(1 - beta) energy(s, 0) - beta energy(s, b) + beta s.u) per row of the
        total input ``x`` (the hidden factor of an AIS intermediate distribution);
        ``bias_constant`` is ``self.bias_constant(b)``."""
        return F.softplus(beta * x).sum(dim=1)

    def log_partition(self, bias):
        """log Z of independent units with biases ``bias``, a float."""
        return float(F.softplus(bias).sum())

    def log_partition_at_zero(self, n_units):
        """log Z of ``n_units`` independent units with zero biases, a float."""
        return n_units * math.log(2)

    def base_rate_bias(self, mean, eps=0.01):
        """Biases of independent units whose means are ``mean``, clipped to [eps, 1 - eps]."""
        return torch.logit(mean.clamp(eps, 1 - eps))

    def log_prob(self, x, inputs):
        """log p(x | total input) of each row."""
        return (x * inputs - F.softplus(inputs)).sum(dim=1)

    def entropy(self, inputs):
        """Entropy of the units given their total input, summed per row."""
        return (F.softplus(inputs) - inputs * torch.sigmoid(inputs)).sum(dim=1)

    def n_states(self, n_units):
        return 2**n_units

    def states(self, n_units, start, stop, dtype, device):
        """Joint states number ``start`` to ``stop - 1``, shape (stop - start, n_units)."""
        codes = torch.arange(start, stop, device=device)
        bits = torch.arange(n_units, device=device)
        return ((codes[:, None] >> bits) & 1).to(dtype)


class Gaussian(Units):
    """Unit-variance Gaussian units: energy |s - b|^2 / 2, Gamma(x) = (x^2 - b^2) / 2 +
    log(2 pi) / 2, mean x."""

    name = "gaussian"

    def mean_(self, x):
        return x

    def sample(self, mean, source, out=None):
        if isinstance(source, torch.Generator):
            noise = torch.randn(mean.shape, generator=source, device=mean.device, dtype=mean.dtype)
            return torch.add(noise, mean, out=out)
        return torch.add(source.normal(mean.shape, mean.dtype).to(mean.device), mean, out=out)

    def noise(self, shape, source, device):
        """Standard normal states (the scale of standardized data)."""
        return source.normal(shape).to(device)

    def sample_from_inputs(self, x, generator):
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        return noise.add_(x)

    def energy(self, x, bias):
        return 0.5 * ((x - bias) ** 2).sum(dim=1)

    def bias_constant(self, bias):
        return 0.5 * float(bias @ bias)

    def cumulant(self, x, bias):
        # int exp(-(s - b)^2 / 2 + s u) ds = sqrt(2 pi) exp(b u + u^2 / 2), u = x - b
        u = x - bias
        return (bias * u + 0.5 * u**2).sum(dim=1) + 0.5 * x.shape[1] * LOG_2PI

    def relative_cumulant(self, x):
        return (0.5 * x**2).sum(dim=-1)

    def annealed_cumulant(self, x, beta, bias_constant):
        # energy |s - beta b|^2 / 2 up to the constant beta |b|^2 / 2 - beta^2 |b|^2 / 2
        return 0.5 * beta**2 * (x**2).sum(dim=1) - beta * bias_constant + 0.5 * x.shape[1] * LOG_2PI

    def log_partition(self, bias):
        return 0.5 * bias.shape[-1] * LOG_2PI

    def log_partition_at_zero(self, n_units):
        return 0.5 * n_units * LOG_2PI

    def base_rate_bias(self, mean, eps=0.01):
        return mean

    def log_prob(self, x, inputs):
        return -0.5 * ((x - inputs) ** 2).sum(dim=1) - 0.5 * x.shape[1] * LOG_2PI

    def entropy(self, inputs):
        return torch.full(inputs.shape[:1], 0.5 * inputs.shape[1] * (1 + LOG_2PI),
                          dtype=inputs.dtype, device=inputs.device)


def _log_2cosh(x):
    """log(2 cosh x) = |x| + log1p(exp(-2|x|)), without overflow for large |x|."""
    a = x.abs()
    return a + torch.log1p(torch.exp(-2 * a))


class Spin(Units):
    """Spin units, s in {-1, +1}: energy -b.s, Gamma(x) = log(2 cosh x), mean tanh(x).

    Training data must hold exactly -1 and +1 (``data_values``): a 0 is most often 0/1 data
    given to spins by mistake. New data (``transform``, ``free_energy``) may hold means in
    [-1, 1], as Bernoulli units take grey levels in [0, 1]; values outside are clipped.
    """

    name = "spin"
    value_range = (-1.0, 1.0)
    data_values = (-1.0, 1.0)

    def mean_(self, x):
        return torch.tanh_(x)

    def sample(self, mean, source, out=None):
        """States 2 Bernoulli((1 + mean) / 2) - 1; ``source`` as for ``Bernoulli.sample``."""
        p = (mean + 1).mul_(0.5)
        if isinstance(source, torch.Generator):
            s = torch.bernoulli(p, generator=source, out=out)
        else:
            s = source.bernoulli(p, out=out)
        return s.mul_(2).sub_(1)

    def noise(self, shape, source, device):
        """Each spin +1 or -1 with probability 1/2."""
        return source.bernoulli(torch.full(shape, 0.5, device=device)).mul_(2).sub_(1)

    def sample_from_inputs(self, x, generator):
        u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        return torch.lt(u, torch.sigmoid(2 * x)).to(x.dtype).mul_(2).sub_(1)

    def energy(self, x, bias):
        return -(x @ bias)

    def bias_constant(self, bias):
        return 0.0

    def cumulant(self, x, bias):
        return _log_2cosh(x).sum(dim=1)

    def relative_cumulant(self, x):
        return _log_2cosh(x).sum(dim=-1)

    def annealed_cumulant(self, x, beta, bias_constant):
        return _log_2cosh(beta * x).sum(dim=1)

    def log_partition(self, bias):
        return float(_log_2cosh(bias).sum())

    def log_partition_at_zero(self, n_units):
        return n_units * math.log(2)

    def base_rate_bias(self, mean, eps=0.01):
        """atanh of ``mean`` clipped to [2 eps - 1, 1 - 2 eps] (Bernoulli's [eps, 1 - eps])."""
        return torch.atanh(mean.clamp(2 * eps - 1, 1 - 2 * eps))

    def log_prob(self, x, inputs):
        return (x * inputs - _log_2cosh(inputs)).sum(dim=1)

    def entropy(self, inputs):
        return (_log_2cosh(inputs) - inputs * torch.tanh(inputs)).sum(dim=1)

    def n_states(self, n_units):
        return 2**n_units

    def states(self, n_units, start, stop, dtype, device):
        return BERNOULLI.states(n_units, start, stop, dtype, device).mul_(2).sub_(1)


BERNOULLI, GAUSSIAN, SPIN = Bernoulli(), Gaussian(), Spin()
UNITS = {u.name: u for u in (BERNOULLI, GAUSSIAN, SPIN)}


def get_unit(kind, what="units"):
    """The ``Units`` of a kind given by name (or a ``Units`` itself, returned as it is).

    ValueError naming ``what`` (e.g. "visible") and the known kinds for anything else.
    """
    if isinstance(kind, Units):
        return kind
    try:
        return UNITS[kind]
    except (KeyError, TypeError):
        names = [repr(name) for name in UNITS]
        known = " or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]
        raise ValueError(f"{what} must be {known}, got {kind!r}.") from None
