"""A realistic simulated district for demos, tests and benchmarks.

The sector mix follows a Chongqing industrial district (九龙坡区, division code 500107):
caterers and food shops, food factories, pharmacies and drug makers, buildings with
elevators, construction projects, chemical and materials plants.  Every USCC is valid
under GB 32100 (its embedded organisation code carries a GB 11714 check character).

Rows go in with PostgreSQL ``COPY`` (or one ``executemany`` per batch on SQLite) inside
one transaction, so a failed run leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import queue
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select, text

from inspect_core.enterprises.models import Enterprise, search_text
from inspect_core.inspectors.models import Inspector
from inspect_core.uscc import ALPHABET, with_check_character

DIVISION = "500107"  # 重庆市九龙坡区
DISTRICT_ZH = "九龙坡区"
REGIONS: tuple[str, ...] = (
    "杨家坪街道", "黄桷坪街道", "谢家湾街道", "石坪桥街道", "石桥铺街道", "中梁山街道",
    "渝州路街道", "二郎街道", "九龙街道", "华岩镇", "含谷镇", "金凤镇", "白市驿镇", "走马镇",
    "石板镇", "巴福镇", "陶家镇", "西彭镇", "铜罐驿镇",
)  # fmt: skip
#: regions weighted: the urban streets hold most businesses
REGION_WEIGHTS = (9, 6, 7, 6, 8, 5, 6, 7, 7, 5, 4, 4, 4, 2, 2, 1, 2, 5, 2)


@dataclass(frozen=True)
class Profile:
    kind_zh: str
    weight: float
    sectors: tuple[str, ...]
    extra: tuple[tuple[str, float], ...]  # (sector, probability) added on top
    individual_share: float  # share registered as 个体工商户
    suffixes: tuple[str, ...]


PROFILES: tuple[Profile, ...] = (
    Profile("餐饮", 0.28, ("food",), (), 0.6,
            ("火锅店", "小面馆", "餐馆", "烧烤店", "食堂", "中央厨房")),
    Profile("食品销售", 0.18, ("food",), (("agricultural_products", 0.3),), 0.5,
            ("超市", "便利店", "副食店", "生鲜店", "农贸经营部")),
    Profile("食品生产", 0.07, ("food",), (("special_equipment", 0.35),), 0.05,
            ("食品有限公司", "调味品有限公司", "火锅底料厂", "乳业有限公司", "面业有限公司")),
    Profile("药品零售", 0.08, ("drugs",), (), 0.2, ("大药房", "药店", "医药连锁店")),
    Profile("药品生产", 0.01, ("drugs", "special_equipment"), (), 0.0,
            ("制药有限公司", "药业有限公司", "生物医药有限公司")),
    Profile("特种设备使用", 0.12, ("special_equipment",), (), 0.0,
            ("物业管理有限公司", "商业管理有限公司", "酒店有限公司", "仓储物流有限公司")),
    Profile("建设工程", 0.08, ("construction",), (("special_equipment", 0.5),), 0.0,
            ("建设工程有限公司", "建筑安装工程有限公司", "置业有限公司（在建项目）")),
    Profile("化工", 0.03, ("hazardous_chemicals", "special_equipment"), (), 0.0,
            ("化工有限公司", "化学品有限公司", "气体有限公司")),
    Profile("材料制造", 0.15, ("industrial_products",), (("special_equipment", 0.4),), 0.05,
            ("铝业有限公司", "建材有限公司", "机械制造有限公司", "摩托车配件有限公司",
             "新材料有限公司")),
)  # fmt: skip
BRAND = "鑫源华美兴达盛德福瑞祥泰康宏远金凤九龙渝州巴蜀长江嘉陵山城彭顺和通利丰佳百川"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力斌波宇浩凯鹏"
STREET_WORDS = ("路", "街", "大道", "巷")

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714-1997
_SPACE = len(ALPHABET) ** 6
_STEP = 7_368_787  # coprime with 31: i → code is a bijection below 31^6
_OFFSET = 104_729


def org_code(index: int) -> str:
    """The ``index``-th organisation code: 'MA' + 6 chars + GB 11714 check character."""
    n = (index * _STEP + _OFFSET) % _SPACE
    chars = []
    for _ in range(6):
        n, r = divmod(n, len(ALPHABET))
        chars.append(ALPHABET[r])
    body = "MA" + "".join(chars)
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def make_uscc(index: int, entity_type: str = "1") -> str:
    """A valid USCC registered by market regulation (9) in this district."""
    return with_check_character("9" + entity_type + DIVISION + org_code(index))


@dataclass
class SimulationStats:
    enterprises: int
    inspectors: int
    seconds: float
    method: str


_ALPHA_B36 = np.array([int(c, 36) for c in ALPHABET], dtype=np.int64)  # GB 11714 char values
_ALPHA_ASCII = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)


def make_usccs(start: int, count: int, entity_types: np.ndarray) -> list[str]:
    """Vectorised :func:`make_uscc` for ``start … start+count-1`` (same codes, ~50× faster)."""
    n = (np.arange(start, start + count, dtype=np.int64) * _STEP + _OFFSET) % _SPACE
    idx = np.empty((count, 17), dtype=np.int64)  # USCC alphabet indexes of the first 17 chars
    idx[:, 0] = 9
    idx[:, 1] = entity_types
    idx[:, 2:8] = [int(c) for c in DIVISION]
    idx[:, 8] = ALPHABET.index("M")
    idx[:, 9] = ALPHABET.index("A")
    for k in range(6):
        n, r = np.divmod(n, len(ALPHABET))
        idx[:, 10 + k] = r
    org_total = int("M", 36) * _ORG_WEIGHTS[0] + int("A", 36) * _ORG_WEIGHTS[1]
    org_total = org_total + sum(_ALPHA_B36[idx[:, 10 + k]] * _ORG_WEIGHTS[2 + k] for k in range(6))
    org_check = 11 - org_total % 11  # 10 → X, 11 → 0
    idx[:, 16] = np.where(org_check == 10, ALPHABET.index("X"), org_check % 11)
    check = (31 - (idx * _USCC_WEIGHTS).sum(axis=1) % 31) % 31
    chars = np.concatenate([_ALPHA_ASCII[idx], _ALPHA_ASCII[check][:, None]], axis=1)
    return chars.astype(np.uint8).view("S18").ravel().astype(str).tolist()


def _enterprise_rows(
    start: int, count: int, rng: np.random.Generator, now: str, copy_text: bool = False
) -> Any:
    """One batch of enterprise rows and their sector lists, drawn with vectorised numpy.

    With ``copy_text`` the batch comes back as PostgreSQL COPY text for both tables
    (names and addresses never hold tabs or backslashes), built in the same loop: the
    generator, not the database, is the slower half of a bulk load.
    """
    weights = np.array([p.weight for p in PROFILES])
    prof = rng.choice(len(PROFILES), size=count, p=weights / weights.sum())
    ind_share = np.array([p.individual_share for p in PROFILES])[prof]
    individual = rng.random(count) < ind_share
    extra_roll = rng.random((count, 2))
    rw = np.array(REGION_WEIGHTS, dtype=float)
    region = rng.choice(len(REGIONS), size=count, p=rw / rw.sum())
    brand = rng.integers(0, len(BRAND) ** 2, size=count)
    suffix_roll = rng.random(count)
    addr = rng.integers(0, len(BRAND), size=(count, 2))
    street = rng.integers(0, len(STREET_WORDS), size=count)
    number = rng.integers(1, 1000, size=count)
    status = rng.choice(4, size=count, p=[0.95, 0.03, 0.01, 0.01])
    est = (np.datetime64("1995-01-01") + rng.integers(0, 11_200, size=count)).astype(str)
    usccs = make_usccs(start, count, np.where(individual, 2, 1))
    statuses = ("active", "suspended", "revoked", "deregistered")
    pairs = [a + b for a in BRAND for b in BRAND]
    rows: list[Any] = []
    sector_lines: list[str] = []
    # plain lists: indexing numpy scalars one by one is several times slower
    for j, (pi, ind, roll, reg_i, b, sr, (a0, a1), st, num, stat, day) in enumerate(
        zip(
            prof.tolist(), individual.tolist(), extra_roll.tolist(), region.tolist(),
            brand.tolist(), suffix_roll.tolist(), addr.tolist(), street.tolist(),
            number.tolist(), status.tolist(), est.tolist(), strict=True,
        )
    ):  # fmt: skip
        p = PROFILES[pi]
        sectors = list(p.sectors)
        for k, (sector, prob) in enumerate(p.extra):
            if roll[k] < prob:
                sectors.append(sector)
        reg = REGIONS[reg_i]
        name = f"{DISTRICT_ZH if ind else '重庆'}{pairs[b]}{p.suffixes[int(sr * len(p.suffixes))]}"
        address = f"重庆市{DISTRICT_ZH}{reg}{BRAND[a0]}{BRAND[a1]}{STREET_WORDS[st]}{num}号"
        ident = start + j + 1
        if copy_text:
            rows.append(
                f"{ident}\t{usccs[j]}\t{name}\t{search_text(name)}\t{reg}\t{address}\t"
                f"{statuses[stat]}\t{day}\t[]\t{now}\t{now}\n"
            )
            sector_lines.extend(f"{ident}\t{s}\n" for s in sectors)
            continue
        values = (ident, usccs[j], name, search_text(name), reg, address, statuses[stat], day,
                  "[]", now, now)  # fmt: skip
        rows.append((values, sectors))
    if copy_text:
        return rows, "".join(sector_lines)
    return rows


def _inspector_rows(
    start: int, count: int, rng: random.Random
) -> Iterator[tuple[tuple[object, ...], list[str]]]:
    sector_pool = ("food", "drugs", "special_equipment", "construction", "hazardous_chemicals",
                   "industrial_products", "agricultural_products")  # fmt: skip
    for i in range(start, start + count):
        region = REGIONS[i % len(REGIONS)]
        name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))
        # each inspector holds the sector of their rotation plus up to two more
        quals = {sector_pool[i % len(sector_pool)]}
        quals.update(rng.sample(sector_pool, rng.randint(0, 2)))
        active = rng.random() < 0.95
        yield (
            (i + 1, f"JLP-{i + 1:05d}", name, f"{DISTRICT_ZH}市场监督管理局{region}市场监督管理所",
             region, active),
            sorted(quals),
        )  # fmt: skip


def simulate(
    engine: Engine,
    n_enterprises: int,
    n_inspectors: int,
    seed: int,
    batch: int = 20_000,
    progress: bool = True,
) -> SimulationStats:
    """Append ``n_enterprises`` and ``n_inspectors`` to the registries in one transaction."""
    from tqdm import tqdm

    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    pg = engine.dialect.name == "postgresql"
    stamp = dt.datetime.now(dt.UTC)
    # SQLAlchemy keeps SQLite datetimes as naive UTC text; PostgreSQL takes the offset
    now = (stamp if pg else stamp.replace(tzinfo=None)).isoformat(sep=" ")
    started = time.perf_counter()
    with engine.begin() as conn:
        if pg:  # serialise concurrent simulations on the id ranges they claim
            conn.execute(text("LOCK TABLE enterprises, inspectors IN EXCLUSIVE MODE"))
        e_start = conn.scalar(select(func.coalesce(func.max(Enterprise.id), 0))) or 0
        i_start = conn.scalar(select(func.coalesce(func.max(Inspector.id), 0))) or 0
        deferred = _defer_checks(conn) if pg and n_enterprises >= max(e_start, 10_000) else []
        bar = tqdm(total=n_enterprises, unit="ent", disable=not progress, mininterval=0.5)
        for batch_rows in _produce(e_start, n_enterprises, batch, nrng, now, pg):
            _write_enterprises(conn, batch_rows, pg)
            bar.update(len(batch_rows[0]) if pg else len(batch_rows))
        bar.close()
        for statement in deferred:  # re-created over the whole table, inside the transaction
            conn.execute(text(statement))
        inspectors = list(_inspector_rows(i_start, n_inspectors, rng))
        _write_inspectors(conn, inspectors)
        if pg:
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('enterprises','id'), "
                    "(SELECT COALESCE(MAX(id), 1) FROM enterprises))"
                )
            )
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('inspectors','id'), "
                    "(SELECT COALESCE(MAX(id), 1) FROM inspectors))"
                )
            )
    seconds = time.perf_counter() - started
    return SimulationStats(n_enterprises, n_inspectors, seconds, "COPY" if pg else "executemany")


#: what a bulk load drops and re-creates on PostgreSQL: the per-row foreign-key check of
#: ``enterprise_sectors`` (nearly half the load time), the USCC unique index (random
#: inserts into a growing B-tree) and the secondary indexes, each rebuilt once at the end —
#: validated and built inside the same transaction, so a duplicate USCC still fails the load
_SECTOR_FK = "fk_enterprise_sectors_enterprise_id_enterprises"
_DEFERRED_DDL = (
    ("ALTER TABLE enterprise_sectors DROP CONSTRAINT " + _SECTOR_FK,
     f"ALTER TABLE enterprise_sectors ADD CONSTRAINT {_SECTOR_FK} "
     "FOREIGN KEY (enterprise_id) REFERENCES enterprises (id) ON DELETE CASCADE"),
    ("ALTER TABLE enterprises DROP CONSTRAINT uq_enterprises_uscc",
     "ALTER TABLE enterprises ADD CONSTRAINT uq_enterprises_uscc UNIQUE (uscc)"),
    ("DROP INDEX ix_enterprises_region",
     "CREATE INDEX ix_enterprises_region ON enterprises (region)"),
    ("DROP INDEX ix_enterprises_status",
     "CREATE INDEX ix_enterprises_status ON enterprises (status)"),
    ("DROP INDEX ix_enterprise_sectors_sector",
     "CREATE INDEX ix_enterprise_sectors_sector ON enterprise_sectors (sector)"),
)  # fmt: skip


def _defer_checks(conn) -> list[str]:  # type: ignore[no-untyped-def]
    """Drop the per-row checks for a load at least as large as the table; return the DDL
    that restores them.  Used only when the load dominates: rebuilding costs a pass over
    the whole table, and the tables are locked (EXCLUSIVE) for the load anyway."""
    conn.execute(text("LOCK TABLE enterprise_sectors IN ACCESS EXCLUSIVE MODE"))
    for drop, _ in _DEFERRED_DDL:
        conn.execute(text(drop))
    return [create for _, create in _DEFERRED_DDL]


def _produce(
    start: int, total: int, batch: int, rng: np.random.Generator, now: str, pg: bool
) -> Iterator[Any]:
    """Generate batches in a thread so Python builds rows while the database indexes them."""
    out: queue.Queue[Any] = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def work() -> None:
        try:
            done = 0
            while done < total:
                size = min(batch, total - done)
                out.put(_enterprise_rows(start + done, size, rng, now, copy_text=pg))
                done += size
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            failure.append(exc)
        finally:
            out.put(None)

    thread = threading.Thread(target=work, name="simulate-producer", daemon=True)
    thread.start()
    while (item := out.get()) is not None:
        yield item
    thread.join()
    if failure:
        raise failure[0]


_ENT_COLS = ("id", "uscc", "name", "search_name", "region", "address", "status",
             "established_on", "licences", "created_at", "updated_at")  # fmt: skip


def _write_enterprises(conn, rows, pg: bool) -> None:  # type: ignore[no-untyped-def]
    raw = conn.connection.driver_connection
    if pg:
        ent, sec = rows
        with raw.cursor() as cur:
            with cur.copy(f"COPY enterprises ({', '.join(_ENT_COLS)}) FROM STDIN") as copy:
                copy.write("".join(ent))
            with cur.copy("COPY enterprise_sectors (enterprise_id, sector) FROM STDIN") as copy:
                copy.write(sec)
        return
    cur = raw.cursor()
    placeholders = ", ".join("?" * len(_ENT_COLS))
    cur.executemany(
        f"INSERT INTO enterprises ({', '.join(_ENT_COLS)}) VALUES ({placeholders})",
        [values for values, _ in rows],
    )
    cur.executemany(
        "INSERT INTO enterprise_sectors (enterprise_id, sector) VALUES (?, ?)",
        [(values[0], s) for values, sectors in rows for s in sectors],
    )
    cur.close()


def _write_inspectors(conn, rows) -> None:  # type: ignore[no-untyped-def]
    if not rows:
        return
    now = dt.datetime.now(dt.UTC)
    conn.execute(
        Inspector.__table__.insert(),
        [
            dict(zip(("id", "badge", "name", "unit", "region", "active"), values, strict=True))
            | {"created_at": now, "updated_at": now}
            for values, _ in rows
        ],
    )
    from inspect_core.inspectors.models import InspectorQualification

    conn.execute(
        InspectorQualification.__table__.insert(),
        [{"inspector_id": values[0], "sector": s} for values, quals in rows for s in quals],
    )
