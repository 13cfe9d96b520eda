"""The double-random draw (双随机): pure, seeded and replayable by anyone.

No Flask, no database, nothing from the rest of ``inspect_core``: the service layer builds a
:class:`Pool` (the object and inspector pools as they stand) and :class:`DrawParams` (the plan),
and this module returns a :class:`DrawOutcome` or raises :class:`DrawInfeasible`.  Nothing here
stores anything, so a failed draw leaves no trace.

Protocol against cherry-picked seeds
    1. ``pool_hash(pool, params)`` is published (with the snapshot ``canonical_pool`` bytes) before
       any seed exists.  The hash covers the plan parameters and the algorithm version too.
    2. Afterwards a public value nobody controls is entered with its source (e.g. the winning
       number of a named lottery draw); ``derive_seed(pool_hash, public_value)`` turns it into the
       seed.  An explicit seed is for tests and simulations only.
    3. ``draw(pool, params, seed, expected_pool_hash=published)`` refuses a pool that changed.
    4. ``verify`` replays the draw from the stored inputs; ``parse_canonical_pool`` rebuilds the
       inputs from the published snapshot, so a third party needs nothing but that file and the
       seed.

Snapshot format (``canonical_pool``), UTF-8, each line ending in ``\\n``, fields split by ``\\t``,
list fields joined by ``,`` after sorting; identifiers may hold no comma and no control character::

    inspect-core draw pool<TAB>1
    algorithm<TAB>draw-v1
    sector<TAB><code>             qualification<TAB><code>      inspectors_per_task<TAB><k>
    regions<TAB><r1,r2,...>       (empty = every region)
    ratios<TAB><n>                then n lines  <tier><TAB><decimal>       sorted by tier
    enterprises<TAB><N>           then N lines  <uscc><TAB><tier><TAB><sectors><TAB><region>
    inspectors<TAB><M>            then M lines  <badge><TAB><qualifications><TAB><region><TAB><1|0>
    conflicts<TAB><C>             then C lines  <badge><TAB><uscc>
    previous<TAB><P>              then P lines  <badge><TAB><uscc>

(one key per line; the header keys appear in the order shown).  Sorting is by Unicode code point:
enterprises by USCC, inspectors by badge, pairs by (badge, USCC).  Ratios are decimals written
without exponent or trailing zeros.  ``pool_hash`` is the lowercase SHA-256 hex of these bytes.
Conflict and previous-plan pairs naming an enterprise or inspector absent from the pool cannot
affect the draw; they are dropped (counted in ``Pool.dropped_pairs``) and not hashed.

Randomness (why not ``random`` or ``numpy.random``: their stream of *methods* may change between
versions; this one is fully specified here and takes ten lines in any language)
    ``derive_seed`` = first 16 bytes, big-endian, of SHA-256(``pool_hash + "|" + public_value``),
    the public value taken verbatim as UTF-8 (a 128-bit integer; store it as a decimal string,
    it does not fit a BIGINT).  Each named stream has base = first 8 bytes, big-endian, of
    SHA-256(``"draw-v1|<seed in decimal>|<stream name>"``); its i-th value (i = 0, 1, ...) is
    SplitMix64 (Steele, Lea & Flood 2014) with state ``base``, i.e. ``mix(base + (i+1)·γ mod 2^64)``
    with γ = 0x9E3779B97F4A7C15.  Not cryptographic and it need not be: the seed is public.

Algorithm draw-v1
    * Eligible enterprises: ``params.sector`` among their sectors and, if ``params.regions`` is
      non-empty, region in it.  Every tier present among them needs a ratio (else the draw fails);
      a ratio of 0 excludes a tier on purpose.
    * Sample size per tier: ``ceil(ratio × eligible)``, computed exactly on the decimal ratio
      (a ratio is a minimum, as in "≥5%"; a non-zero ratio of a non-empty tier draws at least one).
    * Selection per tier, tiers in code-point order: stream ``select:<tier>`` gives one key to each
      eligible enterprise of the tier in USCC order; the enterprises with the smallest keys are
      taken (ties, never seen in practice, go to the lower USCC).  This is uniform sampling
      without replacement.  Tasks are numbered in USCC order.
    * Eligible inspectors: active, ``params.qualification`` (default: the sector) among their
      qualifications and, if ``params.regions`` is non-empty, region in it; numbered in badge
      order.  n of them, T tasks, k per task.  Workload cap = ``ceil(T·k/n) + 1``.
    * Rounds: stream ``assign`` gives R·n keys, R = ``ceil(T·k/n)``; round r orders the n
      inspectors by keys r·n … r·n+n−1 (stable).  The rounds are concatenated, cut at T·k and cut
      into rows of k: row t is task t.  Before repair every inspector has floor or ceil of T·k/n.
    * Repair, tasks in order: a slot is freed if it repeats an inspector of its row (possible
      where a row straddles two rounds), or pairs the inspector with an enterprise they are
      recused from (conflict) or checked in the previous plan of the sector.  Each freed slot, in
      row order, takes an inspector allowed for the task (not recused, not previous, not already
      in the row) below the cap with the lowest workload; ties are broken by the next value v of
      stream ``repair``: candidate ``v mod count`` in badge order.  If every allowed inspector is
      at the cap, an augmenting path (breadth-first, badge and task order) moves inspectors
      between tasks to make room.  This makes the repair a maximum bipartite b-matching, so the
      draw fails only when no assignment at all satisfies the constraints for the selected
      tasks; a task with fewer than k allowed inspectors is reported without taking any.
    * Output: tasks in USCC order, each with its k badges sorted.
"""

from __future__ import annotations

import hashlib
import math
import re
import types
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from fractions import Fraction
from itertools import repeat
from typing import NamedTuple

import numpy as np

ALGORITHM_VERSION = "draw-v1"
SNAPSHOT_MAGIC = "inspect-core draw pool\t1"
MIN_INSPECTORS_PER_TASK = 2  # ≥2 inspectors per object (DOMAIN.md §1 [S3])

# Problem codes carried by DrawInfeasible.
EMPTY_SCOPE = "empty_scope"
TIER_WITHOUT_RATIO = "tier_without_ratio"
NOTHING_SELECTED = "nothing_selected"
TOO_FEW_INSPECTORS = "too_few_inspectors"
INSUFFICIENT_CANDIDATES = "insufficient_candidates"
WORKLOAD_CAP = "workload_cap"
POOL_CHANGED = "pool_changed"

_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f,]")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_GAMMA = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
_MASK64 = (1 << 64) - 1


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _check_code(value: object, what: str) -> str:
    """Return ``value`` if it is a usable identifier (it ends up in a tab-separated snapshot)."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{what} must not be empty")
    if _FORBIDDEN.search(value):
        raise ValueError(f"{what} {value!r} contains a comma or a control character")
    return value


def _code_set(values: object, what: str) -> tuple[str, ...]:
    """Sorted, de-duplicated tuple of codes; a bare str is refused (it would split into chars)."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise TypeError(f"{what}s must be an iterable of str, not {type(values).__name__}")
    return tuple(sorted({_check_code(v, what) for v in values}))


def _ratio(value: object, tier: str) -> Decimal:
    """Exact decimal ratio in [0, 1]; a float is read as the decimal it prints as (0.1 → 0.1)."""
    if isinstance(value, bool):
        raise TypeError(f"ratio of tier {tier!r} must be a number, got bool")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        d = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"ratio of tier {tier!r} is not a number: {value!r}") from exc
    else:
        raise TypeError(f"ratio of tier {tier!r} must be a number, got {type(value).__name__}")
    if not d.is_finite() or d < 0 or d > 1:
        raise ValueError(f"ratio of tier {tier!r} must lie in [0, 1], got {value!r}")
    if d == 0:
        return Decimal(0)
    return d.normalize(Context(prec=max(28, len(d.as_tuple().digits))))


def _format_ratio(d: Decimal) -> str:
    return format(d, "f")


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PoolEnterprise:
    """One entry of the object pool (检查对象名录库) as the draw sees it."""

    uscc: str
    tier: str
    sectors: tuple[str, ...]
    region: str

    def __post_init__(self) -> None:
        _check_code(self.uscc, "uscc")
        _check_code(self.tier, "tier")
        _check_code(self.region, "region")
        object.__setattr__(self, "sectors", _code_set(self.sectors, "sector"))


@dataclass(frozen=True, slots=True)
class PoolInspector:
    """One entry of the inspector pool (执法检查人员名录库) as the draw sees it."""

    badge: str
    qualifications: tuple[str, ...]
    region: str
    active: bool

    def __post_init__(self) -> None:
        _check_code(self.badge, "badge")
        _check_code(self.region, "region")
        if not isinstance(self.active, bool):
            raise TypeError(f"active must be a bool, got {type(self.active).__name__}")
        object.__setattr__(self, "qualifications", _code_set(self.qualifications, "qualification"))


@dataclass(frozen=True, slots=True)
class EnterpriseColumns:
    """Enterprises as parallel columns: the fast way to hand a million rows to :class:`Pool`.

    ``sectors[i]`` is an iterable of sector codes (a tuple is fastest: equal tuples are
    normalised once).  Validation happens in :class:`Pool`.
    """

    uscc: Sequence[str]
    tier: Sequence[str]
    sectors: Sequence[Iterable[str]]
    region: Sequence[str]


@dataclass(frozen=True)
class DrawParams:
    """The plan's parameters that shape a draw (all of them are hashed with the pool).

    ``ratios`` maps a credit tier to its sampling ratio in [0, 1] (float, int, str or Decimal;
    stored as Decimal).  ``regions`` empty means every region.  ``qualification`` defaults to
    the sector code.
    """

    sector: str
    ratios: Mapping[str, Decimal]
    inspectors_per_task: int = MIN_INSPECTORS_PER_TASK
    regions: tuple[str, ...] = ()
    qualification: str | None = None

    def __post_init__(self) -> None:
        _check_code(self.sector, "sector")
        if not isinstance(self.ratios, Mapping):
            raise TypeError("ratios must be a mapping of tier → ratio")
        ratios = {_check_code(t, "tier"): _ratio(r, t) for t, r in self.ratios.items()}
        object.__setattr__(self, "ratios", types.MappingProxyType(dict(sorted(ratios.items()))))
        k = self.inspectors_per_task
        if isinstance(k, bool) or not isinstance(k, int):
            raise TypeError("inspectors_per_task must be an int")
        if k < MIN_INSPECTORS_PER_TASK:
            raise ValueError(f"inspectors_per_task must be at least {MIN_INSPECTORS_PER_TASK}")
        object.__setattr__(self, "regions", _code_set(self.regions, "region"))
        qualification = self.sector if self.qualification is None else self.qualification
        object.__setattr__(self, "qualification", _check_code(qualification, "qualification"))

    def __hash__(self) -> int:
        return hash(
            (
                self.sector,
                tuple(self.ratios.items()),
                self.inspectors_per_task,
                self.regions,
                self.qualification,
            )
        )


def _string_column(values: Sequence[str], what: str) -> np.ndarray:
    """Validate a column of identifiers in bulk and return it as a numpy str array."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "U":
        as_list = values.tolist()
    else:
        as_list = list(values)
        if not all(map(isinstance, as_list, repeat(str))):
            bad = next(v for v in as_list if not isinstance(v, str))
            raise TypeError(f"{what} must be a str, got {type(bad).__name__}: {bad!r}")
    if not as_list:
        return np.empty(0, dtype="U1")
    # One regex pass over the concatenation finds a forbidden character in any element.
    if _FORBIDDEN.search("".join(as_list)):
        culprit = next(v for v in as_list if _FORBIDDEN.search(v))
        raise ValueError(f"{what} {culprit!r} contains a comma or a control character")
    arr = np.array(as_list, dtype=str)
    if int(np.strings.str_len(arr).min()) == 0:
        raise ValueError(f"{what} must not be empty")
    return arr


def _factorize(
    values: Sequence[object], normalise: Callable[[object, str], object], what: str
) -> tuple[tuple, np.ndarray]:
    """Codes into the sorted tuple of distinct normalised values (few distinct, many rows)."""
    index: dict = {}
    try:
        raw = np.fromiter(
            (index.setdefault(v, len(index)) for v in values), dtype=np.int64, count=len(values)
        )
    except TypeError:  # unhashable rows (lists, sets): make them tuples and retry
        values = [v if isinstance(v, str | tuple | frozenset) else tuple(v) for v in values]
        return _factorize(values, normalise, what)
    normalised = [normalise(v, what) for v in index]
    labels = tuple(sorted(set(normalised)))
    position = {label: i for i, label in enumerate(labels)}
    lut = np.array([position[v] for v in normalised], dtype=np.int64)
    return labels, (lut[raw] if raw.size else raw)


# --------------------------------------------------------------------------------------------
# Pool
# --------------------------------------------------------------------------------------------


class Pool:
    """An immutable, canonically ordered snapshot of the object and inspector pools.

    ``enterprises`` is an iterable of :class:`PoolEnterprise` or one :class:`EnterpriseColumns`
    (the fast path for a million rows).  ``conflicts`` are declared recusals
    (回避) and ``previous`` each enterprise's crew at its latest check in the sector, both as
    ``(badge, uscc)`` pairs.  Input order never matters: everything is sorted here, once.
    """

    __slots__ = (
        "_uscc",
        "_tier_labels",
        "_tier_code",
        "_region_labels",
        "_region_code",
        "_sector_sets",
        "_sector_code",
        "_inspectors",
        "_badge_index",
        "_conflicts",
        "_previous",
        "_dropped",
    )

    def __init__(
        self,
        enterprises: EnterpriseColumns | Iterable[PoolEnterprise],
        inspectors: Iterable[PoolInspector],
        conflicts: Iterable[tuple[str, str]] = (),
        previous: Iterable[tuple[str, str]] = (),
    ) -> None:
        if not isinstance(enterprises, EnterpriseColumns):
            records = list(enterprises)
            for e in records:
                if not isinstance(e, PoolEnterprise):
                    raise TypeError(f"expected PoolEnterprise, got {type(e).__name__}")
            enterprises = EnterpriseColumns(
                uscc=[e.uscc for e in records],
                tier=[e.tier for e in records],
                sectors=[e.sectors for e in records],
                region=[e.region for e in records],
            )
        self._load_enterprises(enterprises)
        self._load_inspectors(inspectors)
        uscc_index: dict[str, int] | None = None
        self._dropped = 0
        loaded = []
        for pairs in (conflicts, previous):
            pairs = list(pairs)
            if pairs and uscc_index is None:
                uscc_index = dict(zip(self._uscc.tolist(), range(len(self._uscc)), strict=True))
            loaded.append(self._load_pairs(pairs, uscc_index or {}))
        self._conflicts, self._previous = loaded

    def _load_enterprises(self, cols: EnterpriseColumns) -> None:
        n = len(cols.uscc)
        for name in ("tier", "sectors", "region"):
            if len(getattr(cols, name)) != n:
                raise ValueError(
                    f"enterprise column {name!r} has {len(getattr(cols, name))} rows, uscc has {n}"
                )
        uscc = _string_column(cols.uscc, "uscc")
        order = None
        if n > 1 and not bool(np.all(uscc[1:] > uscc[:-1])):
            order = np.argsort(uscc, kind="stable")
            uscc = uscc[order]
            dup = np.flatnonzero(uscc[1:] == uscc[:-1])
            if dup.size:
                raise ValueError(f"duplicate uscc {str(uscc[dup[0]])!r} in the pool")
        self._tier_labels, tier_code = _factorize(cols.tier, _check_code, "tier")
        self._region_labels, region_code = _factorize(cols.region, _check_code, "region")
        self._sector_sets, sector_code = _factorize(cols.sectors, _code_set, "sector")
        if order is not None:
            tier_code, region_code, sector_code = (
                tier_code[order],
                region_code[order],
                sector_code[order],
            )
        for arr in (uscc, tier_code, region_code, sector_code):
            arr.flags.writeable = False
        self._uscc = uscc
        self._tier_code, self._region_code, self._sector_code = tier_code, region_code, sector_code

    def _load_inspectors(self, inspectors: Iterable[PoolInspector]) -> None:
        records = list(inspectors)
        for i in records:
            if not isinstance(i, PoolInspector):
                raise TypeError(f"expected PoolInspector, got {type(i).__name__}")
        records.sort(key=lambda i: i.badge)
        for a, b in zip(records, records[1:], strict=False):
            if a.badge == b.badge:
                raise ValueError(f"duplicate badge {a.badge!r} in the pool")
        self._inspectors = tuple(records)
        self._badge_index = {i.badge: pos for pos, i in enumerate(records)}

    def _load_pairs(self, pairs: list, uscc_index: dict[str, int]) -> np.ndarray:
        """(badge, uscc) pairs → sorted unique keys ``inspector_pos · N + enterprise_pos``.

        Bulk checks and C-level ``map`` lookups: a previous plan brings ~10⁶ pairs.
        """
        if not pairs:
            return np.empty(0, dtype=np.int64)
        if not set(map(type, pairs)) <= {tuple, list} or set(map(len, pairs)) != {2}:
            bad = next(p for p in pairs if not isinstance(p, tuple | list) or len(p) != 2)
            raise TypeError(f"expected (badge, uscc) pairs, got {bad!r}")
        badges, usccs = zip(*pairs, strict=True)
        if not set(map(type, badges)) | set(map(type, usccs)) <= {str}:
            bad = next(p for p in pairs if not all(isinstance(x, str) for x in p))
            raise TypeError(f"a (badge, uscc) pair must hold two str, got {bad!r}")
        ins = np.fromiter(map(self._badge_index.get, badges, repeat(-1)), np.int64, len(pairs))
        ent = np.fromiter(map(uscc_index.get, usccs, repeat(-1)), np.int64, len(pairs))
        known = (ins >= 0) & (ent >= 0)
        self._dropped += int(len(pairs) - known.sum())
        keys = np.unique(ins[known] * len(self._uscc) + ent[known])
        keys.flags.writeable = False
        return keys

    # -- read access ---------------------------------------------------------------------------

    @property
    def enterprise_count(self) -> int:
        return len(self._uscc)

    def enterprises(self) -> Iterator[PoolEnterprise]:
        """The enterprises in canonical (USCC) order; slow for millions, meant for inspection."""
        for u, t, s, r in zip(
            self._uscc.tolist(),
            self._tier_code.tolist(),
            self._sector_code.tolist(),
            self._region_code.tolist(),
            strict=True,
        ):
            yield PoolEnterprise(
                u, self._tier_labels[t], self._sector_sets[s], self._region_labels[r]
            )

    @property
    def inspectors(self) -> tuple[PoolInspector, ...]:
        """The inspectors in canonical (badge) order."""
        return self._inspectors

    def _decode_pairs(self, keys: np.ndarray) -> tuple[tuple[str, str], ...]:
        n = len(self._uscc)
        return tuple(
            (self._inspectors[int(k) // n].badge, str(self._uscc[int(k) % n])) for k in keys
        )

    @property
    def conflicts(self) -> tuple[tuple[str, str], ...]:
        """Declared conflicts kept for the draw, as sorted (badge, uscc) pairs."""
        return self._decode_pairs(self._conflicts)

    @property
    def previous(self) -> tuple[tuple[str, str], ...]:
        """Previous-plan assignments kept for the draw, as sorted (badge, uscc) pairs."""
        return self._decode_pairs(self._previous)

    @property
    def dropped_pairs(self) -> int:
        """Conflict/previous pairs dropped because they name someone absent from the pool."""
        return self._dropped

    # -- canonical text ------------------------------------------------------------------------

    def _enterprise_lines(self) -> str:
        n = len(self._uscc)
        if n == 0:
            return ""
        n_sec, n_reg = len(self._sector_sets), len(self._region_labels)
        combo = (self._tier_code * n_sec + self._sector_code) * n_reg + self._region_code
        combos, inverse = np.unique(combo, return_inverse=True)
        suffix = np.empty(len(combos), dtype=object)
        for j, c in enumerate(combos.tolist()):
            t, rest = divmod(c, n_sec * n_reg)
            s, r = divmod(rest, n_reg)
            suffix[j] = (
                f"\t{self._tier_labels[t]}\t{','.join(self._sector_sets[s])}"
                f"\t{self._region_labels[r]}\n"
            )
        parts = np.empty(2 * n, dtype=object)
        parts[0::2] = self._uscc.astype(object)
        parts[1::2] = suffix[inverse.ravel()]
        return "".join(parts.tolist())

    def _pair_lines(self, keys: np.ndarray) -> str:
        if keys.size == 0:
            return ""
        n = len(self._uscc)
        prefix = np.array([i.badge + "\t" for i in self._inspectors], dtype=object)
        parts = np.empty(3 * keys.size, dtype=object)
        parts[0::3] = prefix[keys // n]
        parts[1::3] = self._uscc[keys % n].astype(object)
        parts[2::3] = "\n"
        return "".join(parts.tolist())


# --------------------------------------------------------------------------------------------
# Snapshot and seed
# --------------------------------------------------------------------------------------------


def canonical_pool(pool: Pool, params: DrawParams) -> bytes:
    """The published snapshot: the exact bytes ``pool_hash`` hashes (format in module doc)."""
    head = [
        SNAPSHOT_MAGIC,
        f"algorithm\t{ALGORITHM_VERSION}",
        f"sector\t{params.sector}",
        f"qualification\t{params.qualification}",
        f"inspectors_per_task\t{params.inspectors_per_task}",
        f"regions\t{','.join(params.regions)}",
        f"ratios\t{len(params.ratios)}",
        *(f"{t}\t{_format_ratio(r)}" for t, r in params.ratios.items()),
        f"enterprises\t{pool.enterprise_count}",
    ]
    inspector_lines = [
        f"{i.badge}\t{','.join(i.qualifications)}\t{i.region}\t{int(i.active)}"
        for i in pool.inspectors
    ]
    text = "".join(
        [
            "\n".join(head),
            "\n",
            pool._enterprise_lines(),
            f"inspectors\t{len(inspector_lines)}\n",
            "".join(line + "\n" for line in inspector_lines),
            f"conflicts\t{pool._conflicts.size}\n",
            pool._pair_lines(pool._conflicts),
            f"previous\t{pool._previous.size}\n",
            pool._pair_lines(pool._previous),
        ]
    )
    return text.encode("utf-8")


def pool_hash(pool: Pool, params: DrawParams) -> str:
    """SHA-256 hex of :func:`canonical_pool`: published before the seed exists."""
    return hashlib.sha256(canonical_pool(pool, params)).hexdigest()


def parse_canonical_pool(data: bytes) -> tuple[Pool, DrawParams]:
    """Rebuild the pool and parameters from a published snapshot, so anyone can replay a draw.

    Refuses anything that is not byte-for-byte canonical, so that the hash of the file is the
    hash of the pool it describes.
    """
    lines = data.decode("utf-8").split("\n")
    if lines[-1] != "":
        raise ValueError("snapshot must end with a newline")
    pos = 0

    def take(key: str) -> str:
        nonlocal pos
        if pos >= len(lines) - 1:
            raise ValueError(f"snapshot ends before {key!r}")
        name, _, value = lines[pos].partition("\t")
        if name != key:
            raise ValueError(f"line {pos + 1}: expected {key!r}, found {lines[pos]!r}")
        pos += 1
        return value

    def block(key: str, fields: int) -> list[list[str]]:
        nonlocal pos
        count = take(key)
        if not count.isdigit():
            raise ValueError(f"line {pos}: bad count {count!r}")
        rows = [line.split("\t") for line in lines[pos : pos + int(count)]]
        if len(rows) != int(count) or any(len(r) != fields for r in rows):
            raise ValueError(f"section {key!r}: expected {count} lines of {fields} fields")
        pos += int(count)
        return rows

    if lines[0] != SNAPSHOT_MAGIC:
        raise ValueError("not an inspect-core draw pool snapshot (version 1)")
    pos = 1
    algorithm = take("algorithm")
    if algorithm != ALGORITHM_VERSION:
        raise ValueError(f"snapshot is for algorithm {algorithm!r}; this is {ALGORITHM_VERSION}")
    sector = take("sector")
    qualification = take("qualification")
    k = take("inspectors_per_task")
    regions = take("regions")
    ratios = block("ratios", 2)
    params = DrawParams(
        sector=sector,
        ratios={t: Decimal(r) for t, r in ratios},
        inspectors_per_task=int(k) if k.isdigit() else -1,
        regions=tuple(regions.split(",")) if regions else (),
        qualification=qualification,
    )
    ents = block("enterprises", 4)
    columns = EnterpriseColumns(
        uscc=[r[0] for r in ents],
        tier=[r[1] for r in ents],
        sectors=[tuple(r[2].split(",")) if r[2] else () for r in ents],
        region=[r[3] for r in ents],
    )
    inspectors = []
    for badge, quals, region, active in block("inspectors", 4):
        if active not in ("0", "1"):
            raise ValueError(f"inspector {badge!r}: active must be 0 or 1")
        inspectors.append(
            PoolInspector(badge, tuple(quals.split(",")) if quals else (), region, active == "1")
        )
    conflicts = [tuple(r) for r in block("conflicts", 2)]
    previous = [tuple(r) for r in block("previous", 2)]
    if pos != len(lines) - 1:
        raise ValueError(f"line {pos + 1}: unexpected content after the previous section")
    pool = Pool(columns, inspectors, conflicts, previous)
    if pool.dropped_pairs or canonical_pool(pool, params) != data:
        raise ValueError("snapshot is not in canonical form (order, spelling or stray pairs)")
    return pool, params


def derive_seed(pool_hash: str, public_value: str) -> int:
    """Seed = first 128 bits of SHA-256(pool_hash ‖ "|" ‖ public_value), big-endian.

    ``public_value`` is used verbatim (store exactly what was entered, with its source): it is
    only known after the pool hash was published, so nobody could try seeds on the pool.
    """
    if not isinstance(pool_hash, str) or not _HEX64.fullmatch(pool_hash):
        raise ValueError("pool_hash must be 64 lowercase hex characters")
    if not isinstance(public_value, str) or not public_value.strip():
        raise ValueError("public_value must be a non-empty string")
    digest = hashlib.sha256(f"{pool_hash}|{public_value}".encode()).digest()
    return int.from_bytes(digest[:16], "big")


# --------------------------------------------------------------------------------------------
# Random streams (SplitMix64, counter-addressed)
# --------------------------------------------------------------------------------------------


def _stream_base(seed: int, name: str) -> int:
    digest = hashlib.sha256(f"{ALGORITHM_VERSION}|{seed}|{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def splitmix64(state: int, count: int, start: int = 0) -> np.ndarray:
    """Values ``start … start+count-1`` of SplitMix64 seeded with ``state`` (vectorised)."""
    i = np.arange(start + 1, start + count + 1, dtype=np.uint64)
    z = np.uint64(state & _MASK64) + i * np.uint64(_GAMMA)  # array ops wrap mod 2^64
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX2)
    return z ^ (z >> np.uint64(31))


class _Stream:
    """Sequential scalar access to one named stream (for the few repair tie-breaks)."""

    def __init__(self, seed: int, name: str) -> None:
        self._state = _stream_base(seed, name)

    def below(self, m: int) -> int:
        """Next value mod m (bias ≤ m / 2^64: immaterial for m ≤ a few thousand)."""
        self._state = (self._state + _GAMMA) & _MASK64
        z = self._state
        z = ((z ^ (z >> 30)) * _MIX1) & _MASK64
        z = ((z ^ (z >> 27)) * _MIX2) & _MASK64
        return (z ^ (z >> 31)) % m


# --------------------------------------------------------------------------------------------
# Outcome and errors
# --------------------------------------------------------------------------------------------


class Assignment(NamedTuple):
    """One task: the enterprise and its inspectors' badges (sorted)."""

    uscc: str
    inspectors: tuple[str, ...]


class TierCount(NamedTuple):
    """Per-tier figures of a draw: ratio applied, eligible enterprises, selected enterprises."""

    tier: str
    ratio: Decimal | None
    eligible: int
    selected: int


@dataclass(frozen=True)
class DrawOutcome:
    """What a draw produced and everything needed to store and later verify it."""

    algorithm_version: str
    seed: int
    pool_hash: str
    params: DrawParams
    tasks: tuple[Assignment, ...]
    tiers: tuple[TierCount, ...]
    eligible_inspectors: int
    workload_cap: int
    max_workload: int

    def workloads(self) -> dict[str, int]:
        """Tasks per assigned inspector."""
        loads: dict[str, int] = {}
        for task in self.tasks:
            for badge in task.inspectors:
                loads[badge] = loads.get(badge, 0) + 1
        return loads


@dataclass(frozen=True)
class DrawProblem:
    """Why a draw cannot be made; ``uscc`` is None for problems of the whole draw."""

    uscc: str | None
    code: str
    message_en: str
    message_zh: str


class DrawInfeasible(Exception):
    """The constraints cannot be met; ``problems`` names every enterprise affected and why."""

    def __init__(self, problems: Sequence[DrawProblem]) -> None:
        self.problems: tuple[DrawProblem, ...] = tuple(problems)
        shown = "; ".join(
            (f"{p.uscc}: " if p.uscc else "") + p.message_en for p in self.problems[:5]
        )
        more = len(self.problems) - 5
        super().__init__(f"draw infeasible: {shown}" + (f" (+{more} more)" if more > 0 else ""))

    @property
    def usccs(self) -> tuple[str, ...]:
        """The enterprises named by the problems."""
        return tuple(p.uscc for p in self.problems if p.uscc is not None)


# --------------------------------------------------------------------------------------------
# The draw
# --------------------------------------------------------------------------------------------


def _scope_text(params: DrawParams) -> tuple[str, str]:
    if params.regions:
        joined = ", ".join(params.regions)
        return f"sector {params.sector!r} in regions {joined}", (
            f"行业“{params.sector}”、区域“{'、'.join(params.regions)}”"
        )
    return f"sector {params.sector!r}", f"行业“{params.sector}”"


def _eligible_inspectors(pool: Pool, params: DrawParams) -> list[int]:
    regions = set(params.regions)
    return [
        pos
        for pos, i in enumerate(pool.inspectors)
        if i.active
        and params.qualification in i.qualifications
        and (not regions or i.region in regions)
    ]


def _select(
    pool: Pool, params: DrawParams, seed: int, problems: list[DrawProblem]
) -> tuple[np.ndarray, list[TierCount]]:
    """Stratified selection; returns pool positions of the selected enterprises (sorted)."""
    sector_ok = np.array([params.sector in s for s in pool._sector_sets], dtype=bool)
    mask = sector_ok[pool._sector_code] if pool.enterprise_count else np.zeros(0, bool)
    if params.regions:
        wanted = set(params.regions)
        region_ok = np.array([r in wanted for r in pool._region_labels], dtype=bool)
        mask &= region_ok[pool._region_code]
    eligible = np.flatnonzero(mask)
    scope_en, scope_zh = _scope_text(params)
    if eligible.size == 0:
        problems.append(
            DrawProblem(
                None,
                EMPTY_SCOPE,
                f"No enterprise in the pool matches {scope_en}.",
                f"检查对象名录库中没有符合{scope_zh}的企业。",
            )
        )
        return eligible, []
    codes = pool._tier_code[eligible]
    counts = np.bincount(codes, minlength=len(pool._tier_labels))
    present = {pool._tier_labels[c]: c for c in np.flatnonzero(counts).tolist()}
    for tier in sorted(present):
        if tier not in params.ratios:
            problems.append(
                DrawProblem(
                    None,
                    TIER_WITHOUT_RATIO,
                    f"{int(counts[present[tier]])} eligible enterprises are in tier {tier!r},"
                    " which has no sampling ratio in the plan.",
                    f"有 {int(counts[present[tier]])} 家符合条件的企业属于信用风险类别“{tier}”，"
                    "但计划未设定该类别的抽查比例。",
                )
            )
    chosen: list[np.ndarray] = []
    tiers: list[TierCount] = []
    for tier in sorted(set(present) | set(params.ratios)):
        ratio = params.ratios.get(tier)
        members = eligible[codes == present[tier]] if tier in present else eligible[:0]
        size = math.ceil(Fraction(ratio) * members.size) if ratio is not None else 0
        if members.size:
            keys = splitmix64(_stream_base(seed, f"select:{tier}"), members.size)
            chosen.append(members[np.argsort(keys, kind="stable")[:size]])
        tiers.append(TierCount(tier, ratio, int(members.size), size))
    selected = np.sort(np.concatenate(chosen)) if chosen else eligible[:0]
    if not problems and selected.size == 0:
        problems.append(
            DrawProblem(
                None,
                NOTHING_SELECTED,
                f"The plan's ratios select no enterprise among the {eligible.size} eligible.",
                f"按计划的抽查比例，{eligible.size} 家符合条件的企业中没有一家被抽中。",
            )
        )
    return selected, tiers


class _Assigner:
    """Inspector assignment for the selected tasks: balanced rounds, then exact repair."""

    def __init__(
        self,
        pool: Pool,
        params: DrawParams,
        seed: int,
        selected: np.ndarray,
        eligible_pos: list[int],
    ) -> None:
        self.pool, self.params, self.seed = pool, params, seed
        self.selected = selected
        self.n = len(eligible_pos)
        self.k = params.inspectors_per_task
        self.tasks = selected.size
        self.cap = math.ceil(self.tasks * self.k / self.n) + 1
        self.eligible_pos = np.asarray(eligible_pos, dtype=np.int64)
        self.conflict_keys = self._task_keys(pool._conflicts)
        self.previous_keys = self._task_keys(pool._previous)
        self.excluded = np.union1d(self.conflict_keys, self.previous_keys)
        self.holders: list[set[int]] | None = None

    def _task_keys(self, pool_keys: np.ndarray) -> np.ndarray:
        """Pool pair keys → sorted keys ``task · n + inspector`` within this draw."""
        n_ent = self.pool.enterprise_count
        lut = np.full(len(self.pool.inspectors), -1, dtype=np.int64)
        lut[self.eligible_pos] = np.arange(self.n)
        ins = lut[pool_keys // n_ent] if pool_keys.size else pool_keys
        ent = pool_keys % n_ent
        task = np.searchsorted(self.selected, ent)
        hit = (ins >= 0) & (task < self.tasks)
        hit[hit] &= self.selected[task[hit]] == ent[hit]
        return np.unique(task[hit] * self.n + ins[hit])

    def _excluded_for(self, t: int, keys: np.ndarray | None = None) -> np.ndarray:
        keys = self.excluded if keys is None else keys
        lo, hi = np.searchsorted(keys, [t * self.n, (t + 1) * self.n])
        return keys[lo:hi] - t * self.n

    def _allowed(self, t: int) -> np.ndarray:
        mask = np.ones(self.n, dtype=bool)
        mask[self._excluded_for(t)] = False
        row = self.rows[t]
        mask[row[row >= 0]] = False
        return mask

    def run(self) -> tuple[np.ndarray, list[tuple[int, str, str, str]]]:
        n, k, tasks = self.n, self.k, self.tasks
        slots = tasks * k
        rounds = math.ceil(slots / n)
        keys = splitmix64(_stream_base(self.seed, "assign"), rounds * n).reshape(rounds, n)
        order = np.argsort(keys, axis=1, kind="stable")
        rows = order.ravel()[:slots].reshape(tasks, k).astype(np.int64)
        bad = np.zeros(rows.shape, dtype=bool)
        for j in range(1, k):
            bad[:, j] = (rows[:, j : j + 1] == rows[:, :j]).any(axis=1)
        pair = np.arange(tasks, dtype=np.int64)[:, None] * n + rows
        where = np.searchsorted(self.excluded, pair)
        where[where >= self.excluded.size] = 0
        if self.excluded.size:
            bad |= self.excluded[where] == pair
        rows[bad] = -1
        self.rows = rows
        self.loads = np.bincount(rows[rows >= 0], minlength=n).astype(np.int64)

        failures: list[tuple[int, str, str, str]] = []
        per_task = np.bincount(self.excluded // n, minlength=tasks) if self.excluded.size else None
        hopeless: set[int] = set()
        if per_task is not None:
            for t in np.flatnonzero(n - per_task < k).tolist():
                hopeless.add(t)
                failures.append(self._insufficient(t, int(n - per_task[t])))
                held = rows[t][rows[t] >= 0]  # it cannot be staffed: free its capacity
                np.subtract.at(self.loads, held, 1)
                rows[t] = -1
        stream = _Stream(self.seed, "repair")
        for t in np.flatnonzero(bad.any(axis=1)).tolist():
            if t in hopeless:
                continue
            for j in np.flatnonzero(rows[t] < 0).tolist():
                allowed = self._allowed(t)
                cand = np.flatnonzero(allowed & (self.loads < self.cap))
                if cand.size:
                    low = cand[self.loads[cand] == self.loads[cand].min()]
                    c = int(low[stream.below(low.size)])
                    self._place(t, j, c)
                elif not self._augment(t, j):
                    failures.append(self._capped(t, int(allowed.sum())))
                    break
        return rows, failures

    def _place(self, t: int, j: int, c: int) -> None:
        self.rows[t, j] = c
        self.loads[c] += 1
        if self.holders is not None:
            self.holders[c].add(t)

    def _augment(self, t0: int, j0: int) -> bool:
        """Breadth-first augmenting path: free a slot for task ``t0`` by moving inspectors."""
        if self.holders is None:
            self.holders = [set() for _ in range(self.n)]
            for t, row in enumerate(self.rows.tolist()):
                for c in row:
                    if c >= 0:
                        self.holders[c].add(t)
        reached_from: dict[int, int] = {}  # inspector → task that can take it
        via: dict[int, int] = {}  # task → inspector it would give up
        seen = {t0}
        queue = deque([t0])
        while queue:
            t = queue.popleft()
            fresh = [c for c in np.flatnonzero(self._allowed(t)).tolist() if c not in reached_from]
            for c in fresh:
                reached_from[c] = t
                if self.loads[c] < self.cap:
                    self._apply_path(t0, j0, c, reached_from, via)
                    return True
            for c in fresh:
                for t2 in sorted(self.holders[c]):
                    if t2 not in seen:
                        seen.add(t2)
                        via[t2] = c
                        queue.append(t2)
        return False

    def _apply_path(
        self, t0: int, j0: int, c: int, reached_from: dict[int, int], via: dict[int, int]
    ) -> None:
        assert self.holders is not None
        self.loads[c] += 1  # only the free end gains a task; the others move
        t = reached_from[c]
        while t != t0:
            give_up = via[t]
            slot = int(np.flatnonzero(self.rows[t] == give_up)[0])
            self.rows[t, slot] = c
            self.holders[give_up].discard(t)
            self.holders[c].add(t)
            c, t = give_up, reached_from[give_up]
        self.rows[t0, j0] = c
        self.holders[c].add(t0)

    def _uscc(self, t: int) -> str:
        return str(self.pool._uscc[self.selected[t]])

    def _insufficient(self, t: int, free: int) -> tuple[int, str, str, str]:
        conflicted = self._excluded_for(t, self.conflict_keys).size
        previous = np.setdiff1d(
            self._excluded_for(t, self.previous_keys), self._excluded_for(t, self.conflict_keys)
        ).size
        return (
            t,
            INSUFFICIENT_CANDIDATES,
            f"only {free} of {self.n} eligible inspectors may check it ({conflicted} recused for"
            f" a declared conflict, {previous} checked it in the previous plan); {self.k} needed.",
            f"{self.n} 名符合条件的执法人员中仅 {free} 名可检查该企业（{conflicted} 名因利害关系"
            f"回避，{previous} 名在上一轮计划中已检查过该企业），每项任务需要 {self.k} 名。",
        )

    def _capped(self, t: int, free: int) -> tuple[int, str, str, str]:
        return (
            t,
            WORKLOAD_CAP,
            f"all {free} inspectors free to check it already carry the workload cap of"
            f" {self.cap} tasks, and no reassignment makes room.",
            f"可检查该企业的 {free} 名执法人员均已达到 {self.cap} 项任务的工作量上限，"
            "调整其他任务也无法腾出名额。",
        )


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError("seed must be an int")
    if seed < 0:
        raise ValueError("seed must be non-negative")
    return seed


def draw(
    pool: Pool, params: DrawParams, seed: int, *, expected_pool_hash: str | None = None
) -> DrawOutcome:
    """Run draw-v1 on ``pool`` with ``params`` and ``seed``; raise DrawInfeasible if impossible.

    Pass ``expected_pool_hash`` (the hash published before the seed existed) so that a pool
    that changed since publication is refused instead of drawn.
    """
    seed = _check_seed(seed)
    digest = pool_hash(pool, params)
    if expected_pool_hash is not None and digest != expected_pool_hash:
        raise DrawInfeasible(
            [
                DrawProblem(
                    None,
                    POOL_CHANGED,
                    f"The pool hashes to {digest}, not to the published {expected_pool_hash}.",
                    f"名录库快照的哈希值为 {digest}，与已公布的 {expected_pool_hash} 不一致。",
                )
            ]
        )
    return _draw(pool, params, seed, digest)


def _draw(pool: Pool, params: DrawParams, seed: int, digest: str) -> DrawOutcome:
    """The draw proper, once the pool hash is known (``verify`` hashes only once)."""
    problems: list[DrawProblem] = []
    selected, tiers = _select(pool, params, seed, problems)
    eligible_pos = _eligible_inspectors(pool, params)
    k = params.inspectors_per_task
    if len(eligible_pos) < k:
        active = sum(i.active for i in pool.inspectors)
        problems.append(
            DrawProblem(
                None,
                TOO_FEW_INSPECTORS,
                f"Only {len(eligible_pos)} of {len(pool.inspectors)} inspectors ({active} active)"
                f" are active, qualified for {params.qualification!r} and in the plan's regions;"
                f" each task needs {k}.",
                f"{len(pool.inspectors)} 名执法人员（在岗 {active} 名）中，在岗、具备"
                f"“{params.qualification}”资质且在计划区域内的仅 {len(eligible_pos)} 名，"
                f"每项任务需要 {k} 名。",
            )
        )
    if problems:
        raise DrawInfeasible(problems)

    assigner = _Assigner(pool, params, seed, selected, eligible_pos)
    rows, failures = assigner.run()
    if failures:
        raise DrawInfeasible(
            [
                DrawProblem(
                    assigner._uscc(t),
                    code,
                    f"Enterprise {assigner._uscc(t)}: {en}",
                    f"企业 {assigner._uscc(t)}：{zh}",
                )
                for t, code, en, zh in sorted(failures)
            ]
        )
    badges = np.array([pool.inspectors[p].badge for p in eligible_pos], dtype=object)
    crews = map(tuple, badges[np.sort(rows, axis=1)].tolist())
    usccs = pool._uscc[selected].tolist()
    # tuple.__new__ through map builds the NamedTuples at C speed (~300k of them).
    tasks = tuple(map(tuple.__new__, repeat(Assignment), zip(usccs, crews, strict=True)))
    return DrawOutcome(
        algorithm_version=ALGORITHM_VERSION,
        seed=seed,
        pool_hash=digest,
        params=params,
        tasks=tasks,
        tiers=tuple(tiers),
        eligible_inspectors=len(eligible_pos),
        workload_cap=assigner.cap,
        max_workload=int(assigner.loads.max()),
    )


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """Result of replaying a stored draw: ``identical`` plus where it differs, if it does."""

    identical: bool
    pool_hash: str
    pool_hash_matches: bool | None
    algorithm_matches: bool
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    error: str | None = None


def verify(
    pool: Pool,
    params: DrawParams,
    seed: int,
    stored_tasks: Iterable[Assignment | tuple[str, Iterable[str]]],
    *,
    stored_pool_hash: str | None = None,
    stored_algorithm_version: str = ALGORITHM_VERSION,
) -> Verification:
    """Replay the draw from the stored inputs and compare it with the stored tasks.

    ``missing``: enterprises the replay selects but the record lacks; ``unexpected``: the
    reverse; ``changed``: same enterprise, different inspectors (or listed twice).  Inspector
    order within a task does not matter.
    """
    digest = pool_hash(pool, params)
    hash_ok = None if stored_pool_hash is None else stored_pool_hash == digest
    algorithm_ok = stored_algorithm_version == ALGORITHM_VERSION
    stored: dict[str, tuple[str, ...]] = {}
    twice: set[str] = set()
    for uscc, crew in stored_tasks:
        if uscc in stored:
            twice.add(uscc)
        stored[uscc] = tuple(sorted(crew))
    if not algorithm_ok:
        return Verification(
            False,
            digest,
            hash_ok,
            False,
            error=f"stored draw used {stored_algorithm_version!r}; this is {ALGORITHM_VERSION}",
        )
    try:
        replay = _draw(pool, params, _check_seed(seed), digest)
    except DrawInfeasible as exc:
        return Verification(False, digest, hash_ok, True, error=str(exc))
    fresh = {t.uscc: t.inspectors for t in replay.tasks}
    missing = tuple(sorted(fresh.keys() - stored.keys()))
    unexpected = tuple(sorted(stored.keys() - fresh.keys()))
    changed = tuple(
        sorted(twice | {u for u in fresh.keys() & stored.keys() if fresh[u] != stored[u]})
    )
    identical = hash_ok is not False and not (missing or unexpected or changed)
    return Verification(identical, digest, hash_ok, True, missing, unexpected, changed)
