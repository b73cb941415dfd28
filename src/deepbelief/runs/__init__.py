"""Jobs behind the command line, as library functions: train into a run folder, evaluate,
predict, sample, reconstruct, plot, the demo, HTML reports, and run folders that never lose a
file (rundir.py, with the folder lock in lock.py)."""
