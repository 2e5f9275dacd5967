"""systolab's compiler: a model becomes a dataflow-graph IR, is lowered, and is mapped onto an
accelerator as a tile program.

The pieces, in the order a model meets them:

- :mod:`compiler.frontend`: torch models (torch.fx, torch.export) and SCALE-Sim topologies into
  the IR, with the compression the model carries (prune masks, fake-quant bits);
- :mod:`compiler.policy`: compression policy files, applied to the IR by layer name;
- :mod:`compiler.passes`: the lowering pipeline (batch norm folding, fusion, pruning
  propagation, GEMM views);
- :mod:`compiler.ir`: the graph every stage speaks;
- :mod:`compiler.mapping`: dataflow, tiling and loop order per layer, and the
  :class:`hwsim.isa.Program` they generate;
- :mod:`compiler.compression`: transforms that compress a torch model (quantize, prune), whose
  effect the front end reads back.
"""
