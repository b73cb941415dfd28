"""Internals: the kinds of units (``units``, one class each), torch maths of RBMs, CD/PCD and
backprop loops, devices, progress bars, atomic files.

Nothing here is an estimator or imports one.
"""
