"""Jobs behind the command line, as library functions: train into a run folder, evaluate,
predict, sample, reconstruct, plot, the demo, HTML reports and staged run folders."""
