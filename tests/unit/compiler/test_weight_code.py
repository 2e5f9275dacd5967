"""Weight-shared layers (Deep Compression) through the compiler: the front end reads how their
weights are coded, and an arch with a weight decoder keeps them coded in DRAM (its traffic and
the model's size), decodes them into value_bits weights that the array multiplies, and refuses
a codebook larger than its own; an arch without one costs them as plain narrow weights and
says so."""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict

import pytest
import torch
from torch import nn

from compiler.compression import prune_unstructured, share_weights
from compiler.errors import MappingError
from compiler.frontend.pytorch import trace
from compiler.ir import Graph, WeightCode
from compiler.mapping import map_model
from compiler.passes import compile_graph
from hwsim.config import load_arch
from hwsim.isa import Compute, Load
from systolab.deep_compression import deep_compression, layer_storage, on_hardware
from systolab.pipeline import simulate_graph

X = torch.randn(1, 4, 8, 8)


def net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(OrderedDict(conv=nn.Conv2d(4, 16, 3, padding=1), relu=nn.ReLU(),
                                     flat=nn.Flatten(), fc=nn.Linear(16 * 8 * 8, 64))).eval()


def shared_net() -> nn.Module:
    model = net()
    prune_unstructured(model.fc, 0.1)
    share_weights(model.conv, 6)
    share_weights(model.fc, 4, index_bits=5)
    return model


def graph_of(model: nn.Module) -> Graph:
    return compile_graph(trace(model, X))


def test_the_front_end_reads_the_coding_that_deep_compression_counts() -> None:
    model = shared_net()
    ops = {op.name: op for op in graph_of(model).compute_ops()}
    for name, keep, index_bits in (("conv", 1.0, 8), ("fc", 0.1, 5)):
        code = ops[name].weight_code
        row = layer_storage(name, getattr(model, name), keep=keep, index_bits=index_bits)
        assert isinstance(code, WeightCode)
        assert code.bits == row.bits == ops[name].precision.w_bits
        assert code.relative_bits == (row.index_bits or 0)
        assert code.entries * row.weights == pytest.approx(row.stored)
        assert code.huffman_bits * row.weights == pytest.approx(
            row.huffman_weight_bits + row.huffman_index_bits)
    assert ops["conv"].weight_code.relative_bits == 0  # no zeros: stored dense, no index
    assert graph_of(net()).op("fc").weight_code is None


def test_a_decoder_keeps_the_weights_coded_in_dram_and_multiplies_decoded_values() -> None:
    arch = load_arch("deep_compression_int8")
    decoder = arch.weight_decoder
    assert decoder is not None and decoder.huffman
    mapped = map_model(graph_of(shared_net()), arch)
    for layer, plan in zip(mapped.program.layers, mapped.plans, strict=True):
        if plan.mapping is None:
            continue
        code, g = plan.op.weight_code, plan.mapping.gemm
        assert code is not None
        dram_word = code.huffman_bits + 2**code.bits * decoder.value_bits / plan.op.weight.numel
        assert plan.mapping.dram_weight_word == pytest.approx(dram_word)
        assert layer.weight_bits == math.ceil(g.K * g.N * g.groups * dram_word)
        assert "stay Huffman-coded in DRAM" in plan.sparsity.note
        for run in layer.runs:
            for ins in run.body:
                if isinstance(ins, Compute):
                    assert ins.w_bits == decoder.value_bits  # not the 6- or 4-bit index
                if isinstance(ins, Load) and ins.buffer == "weight":
                    assert ins.decode > 0 and ins.sram_bits is not None


def test_coded_weights_move_less_than_the_same_layers_stored_as_a_bitmap() -> None:
    graph = graph_of(shared_net())
    coded = simulate_graph(graph, "deep_compression_int8", trace=False)
    bitmap = simulate_graph(graph, "sparse_int8", trace=False)  # same array and memories
    fc = {s.name: s for s in coded.stats.layers}["fc"], \
        {s.name: s for s in bitmap.stats.layers}["fc"]
    assert fc[0].dram_read_bits < fc[1].dram_read_bits
    assert fc[0].counts.decoded > 0 and fc[0].energy.decode_pj > 0
    assert fc[1].energy.decode_pj == 0.0


def test_fixed_width_codes_move_their_indices_and_relative_indices() -> None:
    base = load_arch("deep_compression_int8")
    assert base.weight_decoder is not None
    arch = dataclasses.replace(base, weight_decoder=dataclasses.replace(base.weight_decoder,
                                                                        huffman=False))
    plan = map_model(graph_of(shared_net()), arch).plan("fc")
    code = plan.op.weight_code
    assert plan.mapping is not None and code is not None
    assert plan.mapping.dram_weight_word == pytest.approx(
        code.entries * (4 + 5) + 16 * 8 / plan.op.weight.numel)
    assert "as codebook indices" in plan.sparsity.note


def test_without_a_decoder_shared_weights_cost_as_narrow_weights_and_the_note_says_so() -> None:
    plan = map_model(graph_of(shared_net()), load_arch("edge_int8")).plan("conv")
    assert plan.mapping is not None and plan.mapping.w_bits == 6
    assert plan.mapping.weight_dram_bits is None
    assert plan.sparsity.note == ("shared weights (64 values) costed as 6-bit weights: "
                                  "edge_int8 has no weight_decoder to keep them coded")


def test_a_codebook_larger_than_the_decoders_names_the_layer_and_the_field() -> None:
    base = load_arch("deep_compression_int8")
    assert base.weight_decoder is not None
    arch = dataclasses.replace(base, weight_decoder=dataclasses.replace(base.weight_decoder,
                                                                        codebook_bits=5))
    with pytest.raises(MappingError, match=r"cannot map op 'conv' .*: its weights share 64 values "
                                           r"\(6-bit indices\), more than the 32 of the weight "
                                           r"decoder's codebook \(weight_decoder.codebook_bits: 5\)"):
        map_model(graph_of(shared_net()), arch)


def test_on_hardware_simulates_the_dense_and_the_compressed_model_per_arch() -> None:
    model = net()
    report = deep_compression(model, X, prune={"fc": 0.1}, bits={"conv": 6, "fc": 4})
    rows = on_hardware(report, model, X, ["sparse_int8", "deep_compression_int8"])
    assert [(r.arch, r.model) for r in rows] == [
        ("sparse_int8", "dense"), ("sparse_int8", "compressed"),
        ("deep_compression_int8", "dense"), ("deep_compression_int8", "compressed")]
    dense, compressed = rows[2], rows[3]
    assert compressed.weight_bits < dense.weight_bits / 10
    assert compressed.dram_read_bits < rows[1].dram_read_bits < dense.dram_read_bits
    assert compressed.energy_pj < dense.energy_pj
    assert "fc" in dict(compressed.notes) and not dense.notes
    huffman = {row.name: row for row in report.layers}["fc"]
    # the DRAM copy is Deep Compression's Huffman stage with an 8-bit (not 32-bit) codebook
    fc = map_model(compile_graph(report.graph.copy()), load_arch("deep_compression_int8"))
    fc_bits = next(layer.weight_bits for layer in fc.program.layers if layer.name == "fc")
    assert fc_bits == pytest.approx(huffman.huffman_bits - 24 * 2**4, abs=1)


def test_a_layer_smaller_coded_than_decoded_is_stored_decoded() -> None:
    """LeNet-5's conv1 has 150 weights and a 256-entry codebook: coded, the codebook alone
    is 13.7 bits per weight, more than the 8-bit values, so the compiler stores it decoded."""
    torch.manual_seed(0)
    layer = nn.Conv2d(1, 6, 5)
    share_weights(layer, 8)
    graph = compile_graph(trace(nn.Sequential(OrderedDict(conv=layer)).eval(),
                                torch.randn(1, 1, 12, 12)))
    plan = map_model(graph, load_arch("deep_compression_int8")).plan("conv")
    assert plan.mapping is not None
    assert plan.mapping.weight_dram_bits is None and plan.mapping.w_bits == 8
    assert plan.sparsity.note.startswith("shared weights stored decoded, as 8-bit values: coded "
                                         "they would take ")
    assert plan.sparsity.note.endswith("bits per weight with the codebook, not less than 8.00")
