"""The seeds of deepbelief, re-run end to end, with their numbers printed beside ours.

Each experiment writes a run folder (``metrics.json``, PNG pictures, ``report.html``) and
returns its metrics. ``scale`` picks the size: "full" is the seed's own scale, "quick" a few
minutes on two CPU cores, "smoke" a few seconds (for tests).

>>> from deepbelief.experiments import run_experiment
>>> metrics = run_experiment("rbm-logistic", "runs/rbm-logistic", scale="quick")  # doctest: +SKIP
"""

from dataclasses import dataclass

from ..runs.rundir import run_folder
from . import autoencoder_2d, dbn_classifier, rbm_anatomy, rbm_logistic
from ._common import SCALES, Run, check_scale, finish


@dataclass(frozen=True)
class Experiment:
    """One seed experiment: its title, the seed documents it re-runs, and the function that runs it.

    ``run(ctx)`` takes the run's context (its folder, scale, seed, ...) and returns its metrics;
    call it through :func:`run_experiment`, which prepares the context and the run folder.
    """

    title: str  # one line, also the report's title
    seeds: tuple  # the seed documents it re-runs
    run: object  # run(ctx) -> metrics


#: Every experiment by the name ``deepbelief experiment NAME`` and :func:`run_experiment` take.
EXPERIMENTS = {
    "rbm-logistic": Experiment(rbm_logistic.TITLE, ("000",), rbm_logistic.run),
    "dbn-classifier": Experiment(dbn_classifier.TITLE, ("001", "003"), dbn_classifier.run),
    "autoencoder-2d": Experiment(autoencoder_2d.TITLE, ("002",), autoencoder_2d.run),
    "rbm-anatomy": Experiment(rbm_anatomy.TITLE, ("001", "004"), rbm_anatomy.run),
}

__all__ = ["EXPERIMENTS", "SCALES", "Experiment", "run_experiment"]


def run_experiment(name, out_dir, scale="quick", search=False, seed=0, device="auto", verbose=1,
                   data_home=None, say=print, overwrite=False, scheduler=None):
    """Run one experiment into ``out_dir`` and return its metrics.

    The run writes into a temporary folder beside ``out_dir`` whose files move into ``out_dir``
    only once everything is written, so a failed or interrupted run leaves nothing half-written
    (and ``out_dir`` as it was); files in ``out_dir`` that deepbelief did not write are kept.

    Parameters
    ----------
    name : {"rbm-logistic", "dbn-classifier", "autoencoder-2d", "rbm-anatomy"}
    out_dir : str or Path
        The run folder: gets ``metrics.json``, the pictures (PNG, GIF) and ``report.html``.
    scale : {"quick", "smoke", "full"}, default="quick"
        "full" runs at the seed's scale, "quick" in a few minutes on two cores, "smoke" in
        seconds (MNIST subsets, or the 8x8 digits when MNIST cannot be loaded).
    search : bool, default=False
        rbm-logistic only: run the seed's cross-validated grid search first and use its best
        settings.
    seed : int, default=0
        Seeds the data sampling and every model.
    device : {"auto", "cpu", "cuda"}, default="auto"
    verbose : int, default=1
        0: only the table of the seed's numbers beside ours is printed; 1: steps and
        progress bars too.
    data_home : str or Path, default=None
        Folder with the MNIST files (default: ``$DEEPBELIEF_DATA`` or the cache).
    say : callable, default=print
        Receives every line of text the run prints.
    overwrite : bool, default=False
        Replace the run in an existing non-empty ``out_dir`` (only once the new run is
        complete); files deepbelief did not write there are kept.
    scheduler : None, "local" or str, default=None
        Where the search's fits run (with ``search=True``): None in this process, "local" on
        a Dask cluster started on this machine for the search, or the address of a running
        Dask scheduler (``tcp://host:8786``). Needs ``pip install 'deepbelief[dask]'``.

    Returns
    -------
    metrics : dict
        JSON-able; always has ``experiment``, ``scale``, ``data``, ``comparison`` (the rows of
        the seed-versus-ours table), ``pictures`` (file names in ``out_dir``) and ``seconds``.

    Raises
    ------
    ValueError
        Unknown ``name`` or ``scale``, or a ``scheduler`` without ``search``.
    ImportError, ConnectionError
        ``scheduler`` given but Dask is not installed, or no scheduler answers at the address.
    FileExistsError
        ``out_dir`` exists and is not empty, and ``overwrite`` is false.
    BlockingIOError
        Another process is writing ``out_dir``.
    """
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose one of: {', '.join(EXPERIMENTS)}.")
    check_scale(scale)
    if scheduler is not None and not search:
        raise ValueError(f"scheduler={scheduler!r} runs the grid search on Dask; it needs "
                         "search=True (--search).")
    experiment = EXPERIMENTS[name]
    with run_folder(out_dir, mode="replace" if overwrite else "new") as run:
        ctx = Run(name, run.staging, scale=scale, search=bool(search), scheduler=scheduler,
                  seed=seed, device=device, verbose=verbose, data_home=data_home, print_fn=say)
        with ctx.step(f"{experiment.title} [{scale}]") as timing:
            metrics = experiment.run(ctx)
        metrics["seconds"] = timing["seconds"]
        metrics = finish(ctx, experiment.title, metrics)
    return metrics
