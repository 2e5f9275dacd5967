"""systolab: simulate compressed PyTorch models on systolic-array accelerators.

The command line (``systolab ...``) lives in :mod:`systolab.cli`; the compiler and the
accelerator model are the packages :mod:`compiler` and :mod:`hwsim`.
"""

__version__ = "0.1.0"
