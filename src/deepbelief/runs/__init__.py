"""Jobs behind the command line, as library functions: train into a run folder, evaluate,
predict, sample, reconstruct, plot, the demo, HTML reports, and run folders that lose nothing (one
run at a time, files replaced only when a run succeeds)."""

from .._core.distributed import is_main_process
from .cluster import search_backend
from .demo import run_demo
from .jobs import evaluate, log_likelihood, plot, predict, reconstruct, sample
from .lock import FolderLock
from .report import write_report
from .rundir import RunFolder, run_folder, staged_dir
from .train import build_model, merge_config, read_config, train_model

__all__ = [
    "train_model", "read_config", "merge_config", "build_model",
    "evaluate", "log_likelihood", "predict", "sample", "reconstruct", "plot", "run_demo",
    "write_report", "run_folder", "RunFolder", "staged_dir", "FolderLock", "search_backend",
    "is_main_process",
]
