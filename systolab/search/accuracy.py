"""Accuracy of a policy: compress the model, optionally fine-tune it briefly, score it.

HAQ (Wang et al., CVPR 2019, Sec. 3.4) and AMC (He et al., ECCV 2018, Sec. 3.4) score
candidates by accuracy after compression with at most a short fine-tune during the search, and
fine-tune only the final policy longer; ``finetune_steps`` gives that short fine-tune.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from compiler.compression import compress
from compiler.policy import Policy
from systolab.search.tasks import Task
from systolab.search.threads import one_thread

__all__ = ["compressed_model", "task_accuracy"]


def compressed_model(model: nn.Module, example_input: torch.Tensor, policy: Policy, *,
                     calibration: torch.Tensor | None, channel_multiple: int = 1) -> nn.Module:
    """``model`` compressed by ``policy``. Batch-norm statistics are re-estimated on the
    calibration batch when the policy prunes channels (the kept channels' statistics shift)."""
    prunes = any(lp.keep is not None and lp.keep < 1 for lp in policy.layers.values())
    return compress(model, example_input, policy, calibration=calibration,
                    channel_multiple=channel_multiple,
                    reestimate_bn=calibration if prunes and calibration is not None else None)


def task_accuracy(task: Task, model: nn.Module, *, finetune_steps: int = 0, lr: float = 1e-4,
                  channel_multiple: int = 1,
                  score: Callable[[nn.Module], float] | None = None) -> Callable[[Policy], float]:
    """A function of a policy giving the task's accuracy of the compressed (and fine-tuned)
    model; ``score`` replaces :meth:`Task.evaluate` (a user evaluator)."""
    calibration = task.calibration_batch()
    evaluate = score or task.evaluate

    def accuracy(policy: Policy) -> float:
        # one thread: two processes evaluating at once (sweep workers, a search beside a
        # benchmark) on two cores with two threads each ran 10x slower (spinning OpenMP threads)
        with one_thread():
            compressed = compressed_model(model, task.example_input, policy,
                                          calibration=calibration,
                                          channel_multiple=channel_multiple)
            if finetune_steps:
                compressed = task.finetune(compressed, finetune_steps, lr)
            return float(evaluate(compressed))

    return accuracy
