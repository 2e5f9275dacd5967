"""The co-design searches: compression policies for a model, and accelerators for workloads.

Compression-policy search (HAQ, AMC and baselines, with the simulator in the loop):

- :mod:`systolab.search.agents`: the agents, one registry (:data:`~systolab.search.agents.AGENTS`);
- :mod:`systolab.search.loop`: the episode loop (propose, compress, evaluate, cost, learn),
  checkpointed by :mod:`systolab.search.checkpoint`;
- :mod:`systolab.search.costs`: :class:`~systolab.search.costs.CostModel`, the latency,
  energy and size of a model compressed by a :class:`~compiler.policy.Policy` on an
  accelerator, exactly as the pipeline reports them, fast enough for a search loop;
- :mod:`systolab.search.budget`: latency, energy and size budgets;
- :mod:`systolab.search.accuracy` and :mod:`systolab.search.tasks`: accuracy of a compressed
  model on a built-in task (``digits``, ``mnist``) or a user evaluator.

Accelerator search: :mod:`systolab.search.sweep`, design-space sweeps over workloads.

This package imports nothing itself: a sweep over SCALE-Sim topologies never pays torch's
import, which the policy search needs.
"""
