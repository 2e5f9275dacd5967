"""The mapper: for one GEMM, the dataflow, tiles, loop order and residency that serve the
user's objective (``latency``, ``energy`` or ``edp``). docs/mapping.md tells the whole story.

**Tiles.** A dataflow (:mod:`hwsim.dataflow`) puts two GEMM dimensions on the array (their
tiles take the array's size) and streams the third, as long as half the SRAM buffers allow
(the other half prefetches the next tile). Output tiles of a convolution follow the feature
map and load their exact input footprint, halo included (:mod:`compiler.mapping.geometry`).
The reduction is tiled twice: an SRAM k tile of ``per_tile`` *units* (a GEMM column of A, or a
whole input channel of a convolution, ``KH x KW`` elements) is what one input load brings; when
it is longer than the array's reduction axis it is cut into array tiles (*bands*) that fill the
axis (sixteen 3x3 channels are nine full 16-row tiles). See :class:`KPlan`.

**Loop orders and residency** (outermost first; ``k`` is the reduction, partial sums of an
output tile stay on chip until its reduction is done):

- ``nmk``: tiles stream; weight tiles are re-read for every m tile, input tiles for every n
  tile;
- ``mnk``: an m tile's inputs for the whole reduction are loaded once, in one transfer, and
  stay in SRAM across the n tiles (inputs read once);
- ``nkm``: a weight tile is read once and used by every m tile; the partial sums of all M rows
  of an n tile stay in the output buffer across the reduction;
- ``Nmnk``: the weights of a block of ``n_block`` columns (all of K) are loaded once and stay
  in SRAM across every m tile, whose inputs stay across the block's n tiles: with one block
  (``n_block = N``) both operands are read once.

The output space is cut into rectangles of equal tiles (classes of m tiles, full and edge n
tiles), one loop nest each: an ``mnk`` m tile's inputs are read once per n tile size, an
``nkm`` weight tile once per m class, an ``Nmnk`` block once (once per m class of a grouped
convolution). :func:`traffic` counts every load the code generator emits
(:mod:`compiler.mapping.codegen`); a data-movement reference (:mod:`compiler.mapping.reference`)
counts the same loads independently, tile by tile.

**The space and the search.** Per dataflow: the array's dimensions at its size; the units of
an SRAM k tile any number when the reduction streams, else what the array's axis holds of
whole units, the fewest that fill it in exact bands, or all of them; the streamed dimension any
length; every order; ``Nmnk`` blocks of any number of n tiles that fits, at most
:data:`MAX_BLOCKS` blocks (:func:`enumerate_mappings` walks all of it). The mapper visits a
few points of it (:func:`_candidates`): the streamed dimension as long as fits, in even tiles,
in tiles that divide it, or in the longest tiles with a short edge; shortened where a resident
block needs it; weight blocks as large as fit and as small as allowed. Each is scored with one
cost function (:func:`score`): latency from the closed-form tile timing and the DRAM time of
its traffic (the larger), energy from its exact action counts priced by
:func:`hwsim.energy.energy_of` over that latency. The best for the objective wins (ties go to
the other metric, then to less traffic); a test holds it equal to the best of the whole space.
Results are cached by (GEMM, bits, stored widths, geometry, arch, objective).

**Stream depth.** A stream of short tiles (a batch-1 fully connected layer, a low-precision
tile on a bit-serial array) waits on DRAM latency more than on bandwidth; a load stream gets
as many SRAM slots (:class:`hwsim.isa.Load` ``slots``) as its buffer holds up to
``2 + ceil(latency / interval)``, where the interval is the array's time between two of its
loads (Little's law): one tile for a streamed tile, the block's k loops for a resident block.
The rule ignores bandwidth, so more bandwidth never picks a shallower stream.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterator

from compiler.errors import MappingError
from compiler.ir import Gemm
from compiler.mapping import codegen, cost, geometry
from compiler.mapping.cost import (
    ComputePart,
    costed,
    score,
    tiling_key,
    tiling_part,
    traffic,
    with_slots,
)
from compiler.mapping.geometry import ConvGeometry, TileClass, gemm_tiles
from compiler.mapping.plan import ACC_BITS, GemmMapping, KPlan, Traffic, dense_k_cap, split_dim
from hwsim.config import Arch
from hwsim.dataflow import Dataflow, get_dataflow
from hwsim.energy import Prices
from hwsim.errors import ConfigError
from hwsim.fields import shown

__all__ = ["ACC_BITS", "MAX_BLOCKS", "OBJECTIVES", "ORDERS", "GemmMapping", "KPlan", "Traffic",
           "check_objective", "clear_caches", "enumerate_mappings", "map_gemm", "mapping_for", "score",
           "split_dim", "traffic"]

ORDERS = ("nmk", "mnk", "nkm", "Nmnk")
OBJECTIVES = ("latency", "energy", "edp")
MAX_BLOCKS = 4
"""Weight blocks of an ``Nmnk`` nest per n tile size, at most: each block is a few runs of
the program, and simulation time grows with runs (``mnk`` and ``nkm`` serve larger weights)."""


def check_objective(objective: str) -> str:
    """``objective`` if it is one of :data:`OBJECTIVES`; a :class:`ConfigError` otherwise."""
    if objective not in OBJECTIVES:
        raise ConfigError(f"objective must be one of {', '.join(OBJECTIVES)}, not {shown(objective)}")
    return objective



@functools.lru_cache(maxsize=1 << 14)
def _m_tiles(M: int, geometry: ConvGeometry | None, m: int) -> tuple[tuple[TileClass, ...], int]:
    """The classes of m tiles a cap of ``m`` makes of ``M`` rows (or of ``geometry``'s
    outputs), and their largest input footprint per unit: the same for every precision,
    so shared by the spaces of every search of the GEMM."""
    tiles = tuple(geometry.tiles(m) if geometry is not None else gemm_tiles(M, m))
    return tiles, max(c.footprint for c in tiles)


@functools.lru_cache(maxsize=1 << 14)
def _fewest_tiles(N: int, n: int) -> int:
    """:meth:`_Space.fewest_tiles` (it depends on ``N`` and ``n`` only)."""
    return next(t for t in range(1, math.ceil(N / n) + 1) if _blocks(N, n, t * n) <= MAX_BLOCKS)


def _blocks(N: int, n_t: int, n_block: int) -> int:
    """Weight blocks per n tile size (full n tiles, the edge one) of an ``Nmnk`` nest."""
    per = n_block // n_t
    return max(-(-nt // per) for _, nt in split_dim(N, n_t))


def _even(size: int, tile: int) -> int:
    """The tile that covers ``size`` in as many tiles as ``tile`` does, all about equal."""
    return math.ceil(size / math.ceil(size / tile)) if tile else 0


def _lengths(size: int, longest: int) -> set[int]:
    """Tiles for a dimension of ``size`` at most ``longest`` long: :func:`_even`, the longest
    that divides ``size`` (one class of tiles: residency across them is whole), and
    ``longest`` itself (the fewest full tiles, with a short edge tile)."""
    if not longest:
        return set()
    return {_even(size, longest), next(d for d in range(longest, 0, -1) if size % d == 0),
            min(longest, size)}


def _largest(lo: int, hi: int, fits: Callable[[int], bool]) -> int:
    """The largest ``x`` in ``[lo, hi]`` with ``fits(x)`` (monotone), or 0."""
    if hi < lo or not fits(lo):
        return 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


class _Space:
    """The mappings of one GEMM on one dataflow: :meth:`build` makes (and checks) one."""

    def __init__(self, g: Gemm, df: Dataflow, arch: Arch, w_bits: int, a_bits: int,
                 w_word: float, a_word: float, geometry: ConvGeometry | None,
                 k_scale: float, weight_code: tuple[float, float] | None = None) -> None:
        self.g, self.df, self.arch, self.geometry, self.k_scale = g, df, arch, geometry, k_scale
        self.code = weight_code if weight_code is not None else (None, 0.0)
        self.w_bits, self.a_bits, self.w_word, self.a_word = w_bits, a_bits, w_word, a_word
        a = arch.array
        m_cap, k_cap, n_cap = df.caps(a.rows, a.cols, a.pe.k_pack(w_bits, a_bits))
        k_cap = dense_k_cap(k_cap, k_scale) if k_cap else 0  # (skipping packs a PE axis)
        m = min(g.M, m_cap) if m_cap else g.M
        if geometry is not None:
            m = geometry.tile_cap(m)
        self.caps = (m, k_cap or g.K, min(g.N, n_cap) if n_cap else g.N)
        """The largest m, k and n tile (k in GEMM elements; a streamed dimension is bounded
        by the GEMM only)."""
        self.unit = (geometry.taps, geometry.channels) if geometry is not None else (1, g.K)
        """(GEMM K elements per reduction unit, units)."""
        self.halves = {b: arch.buffers.get(b).slot_bits(2) for b in ("input", "weight", "output")}
        # (memos: the candidates ask the same questions many times)
        self._kplans: dict[int, KPlan | None] = {}
        self._classes: dict[int, tuple[tuple[TileClass, ...], int]] = {}

    def m_lengths(self, m: int) -> set[int]:
        """m tiles a cap of ``m`` allows (module doc, :func:`_lengths`), in whole output rows
        of a convolution where a row fits, else within a row."""
        if not m:
            return set()
        if self.geometry is None:
            return _lengths(self.g.M, m)
        x = self.geometry
        if x.out_w <= m:  # whole rows
            return {r * x.out_w for r in _lengths(x.out_h, min(x.out_h, m // x.out_w))}
        return _lengths(x.out_w, m)

    def per_tile_choices(self) -> tuple[int, ...]:
        """Units per SRAM k tile the space has (module doc): with a streamed reduction, any
        number; on an array axis, what the axis holds of whole units (one unit, if it holds
        none), the fewest that fill it in exact bands, and all of them."""
        unit, units = self.unit
        if self.df.streamed == "k":
            return tuple(range(1, units + 1))
        k_cap = self.caps[1]
        fill = next((d for d in range(1, units + 1)
                     if units % d == 0 and d * unit > k_cap and d * unit % k_cap == 0), units)
        return tuple(sorted({min(units, max(1, k_cap // unit)), fill, units}))

    def kplan(self, per_tile: int) -> KPlan | None:
        """The reduction in SRAM tiles of ``per_tile`` units (None if they cannot be cut
        alike into array tiles)."""
        if per_tile in self._kplans:
            return self._kplans[per_tile]
        unit, units = self.unit
        k_cap = self.caps[1]
        if per_tile * unit <= k_cap:
            kp: KPlan | None = KPlan(unit, units, per_tile)
        elif units % per_tile:
            kp = None
        else:
            kp = KPlan(unit, units, per_tile, math.ceil(per_tile * unit / k_cap), k_cap)
        self._kplans[per_tile] = kp
        return kp

    def m_tiles(self, m: int) -> tuple[TileClass, ...]:
        """The classes of m tiles a cap of ``m`` makes."""
        return self._tile_classes(m)[0]

    def footprint(self, m: int) -> int:
        """The largest input footprint per unit of the m tiles a cap of ``m`` makes."""
        return self._tile_classes(m)[1]

    def _tile_classes(self, m: int) -> tuple[tuple[TileClass, ...], int]:
        found = self._classes.get(m)
        if found is None:
            found = self._classes[m] = _m_tiles(self.g.M, self.geometry, m)
        return found

    def fewest_tiles(self, n: int) -> int:
        """The fewest n tiles of ``n`` columns per weight block that keep to
        :data:`MAX_BLOCKS` blocks per tile size (full tiles and the edge one are blocked
        apart, as :func:`_blocks` counts them)."""
        return _fewest_tiles(self.g.N, n)

    def k_tile_fits(self, m: int, per_tile: int, n: int) -> bool:
        """The tiles of one k step fit half their buffers."""
        kp = self.kplan(per_tile)
        return kp is not None and (
            per_tile * self.footprint(m) * self.a_word <= self.halves["input"]
            and kp.k_t * n * self.w_word <= self.halves["weight"]
            and m * n * ACC_BITS <= self.halves["output"])

    def block_fits(self, m: int) -> bool:
        """An m tile's inputs over the whole reduction fit half the input buffer."""
        return self.unit[1] * self.footprint(m) * self.a_word <= self.halves["input"]

    def build(self, m_t: int, per_tile: int, n_t: int, order: str = "nmk",
              n_block: int = 0, *, check: bool = True) -> GemmMapping | None:
        """The mapping with these tiles and this order, or None if it does not fit the array
        or (with ``check``) the buffers."""
        choice = self.choose(m_t, per_tile, n_t, order, n_block, check=check)
        return None if choice is None else self.mapping(choice)

    def choose(self, m_t: int, per_tile: int, n_t: int, order: str = "nmk",
               n_block: int = 0, *, check: bool = True) -> _Choice | None:
        """:meth:`build`'s checks: the mapping as ``(order, m tile, k plan, n tile, weight
        block)``, unique per mapping of the space, or None. A search makes tens of thousands
        of them and builds the records of the few it costs."""
        g, (m_cap, _, n_cap) = self.g, self.caps
        units = self.unit[1]
        if not (0 < m_t <= m_cap and 0 < n_t <= n_cap and 0 < per_tile <= units):
            return None
        kp = self.kplan(per_tile)
        if kp is None:
            return None
        if self.geometry is not None:
            m_t = self.geometry.tile_cap(m_t)
        if check:
            if not self.k_tile_fits(m_t, per_tile, n_t):
                return None
            if order in ("mnk", "Nmnk") and not self.block_fits(m_t):
                return None
            if order == "mnk" and n_t >= g.N:
                return None
            if order == "nkm":
                m_tiles = self.m_tiles(m_t)
                if not (kp.bands == 1 and kp.exact and len(m_tiles) >= 1
                        and sum(c.count for c in m_tiles) > 1
                        and g.M * n_t * ACC_BITS <= self.halves["output"]):
                    return None
            if order == "Nmnk" and not (n_block and n_block % n_t == 0
                                        and n_block <= n_t * math.ceil(g.N / n_t)
                                        and g.K * n_block * self.w_word
                                        <= self.halves["weight"]
                                        and _blocks(g.N, n_t, n_block) <= MAX_BLOCKS):
                return None
        return (order, m_t, kp, n_t, n_block if order == "Nmnk" else 0)

    def part(self, choice: _Choice) -> ComputePart:
        """The :func:`~compiler.mapping.cost.compute_part` of a :meth:`choose` result."""
        _, m_t, kp, n_t, _ = choice
        return tiling_part(self.arch, self.df.name, self.g, self.m_tiles(m_t), kp, m_t, n_t,
                           self.w_bits, self.a_bits, self.k_scale)

    def mapping(self, choice: _Choice) -> GemmMapping:
        """The record of a :meth:`choose` result, not yet costed."""
        order, m_t, kp, n_t, n_block = choice
        return GemmMapping(self.df.name, order, self.g, self.w_bits, self.a_bits, self.w_word,
                           self.a_word, m_t, kp.k_t, n_t, self.m_tiles(m_t), kp,
                           Traffic(0, 0, 0), 0, 0, 0.0, n_block=n_block, k_scale=self.k_scale,
                           weight_dram_bits=self.code[0], decode_entries=self.code[1])


_Choice = tuple[str, int, KPlan, int, int]  # (order, m tile, k plan, n tile, weight block)


def _candidates(space: _Space) -> Iterator[_Choice]:
    """The mapper's choices on one dataflow (module doc): the array's dimensions at its size;
    for each k tiling, the streamed dimension in as few tiles as fit, of even length, in every
    order; a streamed m dimension also shortened so an m tile's inputs stay resident; weight
    blocks of the most n tiles that fit, and of one."""
    df = space.df
    m_cap, _, n_cap = space.caps
    units = space.unit[1]
    if df.streamed == "k":  # OS: as many units per k tile as the buffers take
        longest = _largest(1, units, lambda u: space.k_tile_fits(m_cap, u, n_cap))
        for per_tile in sorted(_lengths(units, longest)):
            yield from _orders(space, m_cap, per_tile, n_cap,
                               units if longest == units else per_tile)
        return
    for per_tile in space.per_tile_choices():
        for m_t, n_t in _streamed(space, per_tile):
            yield from _orders(space, m_t, per_tile, n_t, per_tile)


def _streamed(space: _Space, per_tile: int) -> list[tuple[int, int]]:
    """(m tile, n tile) options with the reduction on the array: the streamed one (m for WS,
    n for IS) in the lengths the buffers allow (:func:`_lengths`)."""
    m_cap, _, n_cap = space.caps
    if space.df.streamed == "m":
        longest = _largest(1, m_cap, lambda m: space.k_tile_fits(m, per_tile, n_cap))
        return [(m, n_cap) for m in sorted(space.m_lengths(longest))]
    longest = _largest(1, n_cap, lambda n: space.k_tile_fits(m_cap, per_tile, n))
    return [(m_cap, n) for n in sorted(_lengths(space.g.N, longest))]


def _orders(space: _Space, m_t: int, per_tile: int, n_t: int,
            resident_per_tile: int) -> Iterator[_Choice]:
    """Every order on these tiles (resident ones with ``resident_per_tile`` units per k tile;
    a streamed m or n dimension shortened where it must for a block to stay resident)."""
    g = space.g
    for order in ("nmk", "nkm"):
        if (choice := space.choose(m_t, per_tile, n_t, order)) is not None:
            yield choice

    def block_fits(columns: int) -> bool:
        return g.K * columns * space.w_word <= space.halves["weight"]

    m_res = {m_t} if space.df.streamed != "m" or space.block_fits(m_t) else \
        space.m_lengths(_largest(1, m_t, space.block_fits))
    n_res = {n_t} if space.df.streamed != "n" or block_fits(n_t) else \
        _lengths(g.N, _largest(1, n_t, block_fits))
    for m in sorted(m_res):
        if (choice := space.choose(m, resident_per_tile, n_t, "mnk")) is not None:
            yield choice
        for n in sorted(n_res):
            most = min(math.ceil(g.N / n),
                       int(space.halves["weight"] // max(g.K * n * space.w_word, 1e-9)))
            fewest = space.fewest_tiles(n)
            for tiles in sorted({fewest, most} if most >= fewest else set()):
                choice = space.choose(m, resident_per_tile, n, "Nmnk", tiles * n)
                if choice is not None:
                    yield choice


def mapping_for(g: Gemm, w_bits: int, a_bits: int, out_bits: int, arch: Arch, dataflow: str,
                *, m_t: int, units_per_tile: int, n_t: int, order: str = "nmk",
                n_block: int = 0, weight_word_bits: float | None = None,
                input_word_bits: float | None = None, geometry: ConvGeometry | None = None,
                k_scale: float = 1.0,
                weight_code: tuple[float, float] | None = None) -> GemmMapping | None:
    """The mapping with these tiles (``units_per_tile`` reduction units, module doc), order and
    weight block, costed and with its load streams' depth chosen; None if it does not fit
    the array or the buffers."""
    w_word, a_word = _words(w_bits, a_bits, weight_word_bits, input_word_bits)
    space = _Space(g, get_dataflow(dataflow), arch, w_bits, a_bits, w_word, a_word, geometry,
                   k_scale, weight_code)
    mp = space.build(m_t, units_per_tile, n_t, order, n_block)
    return None if mp is None else with_slots(costed(mp, arch, out_bits), arch)


def enumerate_mappings(g: Gemm, w_bits: int, a_bits: int, out_bits: int, arch: Arch,
                       weight_word_bits: float | None = None,
                       input_word_bits: float | None = None, *,
                       geometry: ConvGeometry | None = None,
                       k_scale: float = 1.0,
                       weight_code: tuple[float, float] | None = None) -> Iterator[GemmMapping]:
    """Every mapping of the mapper's space (module doc), costed: each dataflow, the array's
    dimensions at its size, every length of the streamed one, every order and weight block
    that fits (for checking the mapper on small GEMMs: the space is large)."""
    w_word, a_word = _words(w_bits, a_bits, weight_word_bits, input_word_bits)
    prices = Prices(arch)
    for dataflow in arch.array.dataflows:
        space = _Space(g, get_dataflow(dataflow), arch, w_bits, a_bits, w_word, a_word,
                       geometry, k_scale, weight_code)
        m_cap, _, n_cap = space.caps
        streamed = space.df.streamed
        parts: dict[tuple, ComputePart] = {}
        for m_t, per_tile, n_t in itertools.product(
                range(1, m_cap + 1) if streamed == "m" else (m_cap,),
                space.per_tile_choices(),
                range(1, n_cap + 1) if streamed == "n" else (n_cap,)):
            if geometry is not None and geometry.tile_cap(m_t) != m_t:
                continue  # the same tiles as a larger cap
            for order in ORDERS:
                blocks = range(n_t, n_t * math.ceil(g.N / n_t) + 1, n_t) \
                    if order == "Nmnk" else (0,)
                for n_block in blocks:
                    mp = space.build(m_t, per_tile, n_t, order, n_block)
                    if mp is not None:
                        yield costed(mp, arch, out_bits, parts, prices)


@functools.lru_cache(maxsize=65536)
def map_gemm(g: Gemm, w_bits: int, a_bits: int, out_bits: int, arch: Arch,
             weight_word_bits: float | None = None, input_word_bits: float | None = None,
             scalesim: bool = False, *, geometry: ConvGeometry | None = None,
             k_scale: float = 1.0, objective: str = "latency",
             weight_code: tuple[float, float] | None = None) -> GemmMapping:
    """The best mapping of ``g`` on ``arch`` for ``objective`` (module doc).

    ``weight_word_bits`` is the stored size of one weight (``w_bits`` unless the arch stores
    sparse weights compressed); ``input_word_bits`` that of one input element (its stored
    width); ``geometry`` the convolution whose inputs move as footprints; ``k_scale`` the
    share of a reduction the array computes (zero skipping). ``scalesim``: tile as SCALE-Sim
    does, the im2col GEMM with the streamed dimension whole in one fold, in ``nmk`` order.
    ``weight_code``: weights that stay coded in DRAM and pass the arch's weight decoder, as
    (DRAM bits per weight, stored entries decoded per weight); ``weight_word_bits`` is then
    their decoded size in SRAM.
    """
    check_objective(objective)
    w_word, a_word = _words(w_bits, a_bits, weight_word_bits, input_word_bits)
    prices = Prices(arch)
    # Every candidate of every dataflow, in the space's order, with its compute part
    found: list[tuple[int, int, _Space, _Choice, dict[tuple, ComputePart]]] = []
    for dataflow in arch.array.dataflows:
        space = _Space(g, get_dataflow(dataflow), arch, w_bits, a_bits, w_word, a_word,
                       None if scalesim else geometry, k_scale, weight_code)
        parts: dict[tuple, ComputePart] = {}  # (the orders of one tiling share its part)
        for choice in dict.fromkeys([_scalesim_folds(space)] if scalesim
                                    else _candidates(space)):
            tiling = tiling_key(space.df.name, choice[1], choice[2], choice[3])
            part = parts.get(tiling)
            if part is None:
                part = parts[tiling] = space.part(choice)
            found.append((part.cycles, len(found), space, choice, parts))
    # The best score wins, the first in the space's order among equals. A candidate's latency
    # is at least its compute cycles: for latency, costed in order of those, every candidate
    # after one whose compute alone is slower than the best so far cannot win.
    if objective == "latency":
        found.sort(key=lambda x: (x[0], x[1]))
    best: GemmMapping | None = None
    best_key: tuple[tuple[float, ...], int] = ((), 0)
    for compute, position, space, choice, parts in found:
        if objective == "latency" and best is not None and compute > best.estimate_cycles:
            break
        full = costed(space.mapping(choice), arch, out_bits, parts, prices)
        key = (score(full, objective), position)
        if best is None or key < best_key:
            best, best_key = full, key
    if best is None:
        raise MappingError(
            f"GEMM M={g.M} N={g.N} K={g.K} at w{w_bits}a{a_bits} does not fit the buffers of "
            f"{arch.name!r} with any of its dataflows {arch.array.dataflows}: input "
            f"{arch.buffers.input.size_kib} KiB, weight {arch.buffers.weight.size_kib} KiB, "
            f"output {arch.buffers.output.size_kib} KiB must each hold two tiles"
        )
    # SCALE-Sim models no DRAM latency to hide; its folds keep plain double buffering
    return best if scalesim else with_slots(best, arch)


def clear_caches() -> None:
    """Forget every mapping, the tile timings and footprints behind them and the runs
    generated from them (benchmarks)."""
    map_gemm.cache_clear()
    _m_tiles.cache_clear()
    _fewest_tiles.cache_clear()
    codegen.gemm_runs.cache_clear()
    cost.clear_cache()
    geometry.clear_cache()


def _words(w_bits: int, a_bits: int, weight_word_bits: float | None,
           input_word_bits: float | None) -> tuple[float, float]:
    return (float(weight_word_bits if weight_word_bits is not None else w_bits),
            float(input_word_bits if input_word_bits is not None else a_bits))


def _scalesim_folds(space: _Space) -> _Choice:
    """SCALE-Sim's folds: the im2col GEMM, the array's dimensions at its size, the streamed
    one whole, ``nmk``; SCALE-Sim models SRAM apart from its fold count (no capacity check)."""
    m_t, _, n_t = space.caps
    units, k_cap = space.unit[1], space.caps[1]  # (no geometry: units are K elements)
    choice = space.choose(m_t, min(units, k_cap), n_t, check=False)
    assert choice is not None
    return choice
