"""systolab's compiler: torch model -> IR graph -> passes -> (later) mapping onto hwsim.

The pieces, in the order a model meets them: :mod:`compiler.frontend` (trace),
:mod:`compiler.policy` (compression policy files), :mod:`compiler.passes` (the pipeline),
:mod:`compiler.ir` (the graph every stage speaks), :mod:`compiler.models` (the model zoo).
"""
