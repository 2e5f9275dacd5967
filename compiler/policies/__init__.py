"""Compression-policy search support: accuracy tasks and the hardware cost model.

- :mod:`compiler.policies.tasks`: built-in accuracy tasks on data that ships in packages
  (``digits``, ``mnist``), user evaluators (``load_evaluator("module:function")``).
- :mod:`compiler.policies.costs`: :class:`CostModel`, the latency, energy and size of a model
  compressed by a :class:`~compiler.policy.Policy` on an accelerator, exactly as
  :func:`systolab.api.simulate_graph` reports them, fast enough for a search loop.
"""

from compiler.policies.costs import Cost, CostModel, CostTable, LayerInfo
from compiler.policies.errors import EvaluatorError, TaskError
from compiler.policies.tasks import TASKS, Task, get_task, load_evaluator, reestimate_batchnorm

__all__ = [
    "TASKS",
    "Cost",
    "CostModel",
    "CostTable",
    "EvaluatorError",
    "LayerInfo",
    "Task",
    "TaskError",
    "get_task",
    "load_evaluator",
    "reestimate_batchnorm",
]
