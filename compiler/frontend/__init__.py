"""Front ends: a model from wherever a user keeps it becomes an IR :class:`~compiler.ir.Graph`.

- :mod:`compiler.frontend.pytorch`: :func:`~compiler.frontend.pytorch.trace` captures a torch
  model (torch.fx, falling back to torch.export) with an example input, reads the compression
  it carries (:mod:`compiler.frontend.annotations`: prune masks, fake-quant bits) and applies a
  policy file on top; :mod:`~compiler.frontend.capture`, :mod:`~compiler.frontend.convert` and
  :mod:`~compiler.frontend.modules` are its stages.
- :mod:`compiler.frontend.scalesim`: SCALE-Sim's architecture ``.cfg`` and topology ``.csv``.

This package imports nothing itself: the SCALE-Sim front end never pays torch's import.
"""
