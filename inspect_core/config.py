"""Configuration: class defaults, then ``INSPECT_*`` environment variables, then a test mapping.

Values read from the environment go through Flask's ``from_prefixed_env``, which parses
JSON where it can (``INSPECT_TOKEN_TTL_SECONDS=600`` is an int, ``INSPECT_PLUGINS='["food"]'``
a list).  ``INSPECT_PLUGINS`` may also be a comma-separated string.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: sector catalogue: every sector code the registries accept, with its bilingual names.
#: Sectors with a plugin get their rules from it; the others are judged by the generic schema.
DEFAULT_SECTORS: dict[str, dict[str, str]] = {
    "food": {"zh": "食品", "en": "Food"},
    "drugs": {"zh": "药品", "en": "Drugs"},
    "special_equipment": {"zh": "特种设备", "en": "Special equipment"},
    "construction": {"zh": "建设工程", "en": "Construction projects"},
    "hazardous_chemicals": {"zh": "危险化学品", "en": "Hazardous chemicals"},
    "industrial_products": {"zh": "工业产品", "en": "Industrial products"},
    "agricultural_products": {"zh": "食用农产品", "en": "Agricultural products"},
}


#: the 2026 programme's lines; ``where`` compares a payload path with a value
DEFAULT_KPI_TARGETS: list[dict[str, Any]] = [
    {
        "key": "agricultural_products",
        "sector": "agricultural_products",
        "target": 98.3,
        "name_zh": "食用农产品抽检合格率",
        "name_en": "Edible agricultural products: sampling pass rate",
    },
    {
        "key": "food",
        "sector": "food",
        "target": 98.2,
        "name_zh": "食品抽检合格率",
        "name_en": "Food: sampling pass rate",
    },
    {
        "key": "industrial_products",
        "sector": "industrial_products",
        "target": 95.0,
        "name_zh": "制造业产品和消费品质量合格率",
        "name_en": "Manufactured and consumer goods: pass rate",
    },
    {
        "key": "drugs_production",
        "sector": "drugs",
        "target": 99.8,
        "where": {"path": ["sample", "stage"], "equals": "production"},
        "name_zh": "药品生产环节抽检合格率",
        "name_en": "Drugs, production stage: sampling pass rate",
    },
    {
        "key": "drugs_circulation",
        "sector": "drugs",
        "target": 99.5,
        "where": {"path": ["sample", "stage"], "equals": "circulation"},
        "name_zh": "药品流通环节抽检合格率",
        "name_en": "Drugs, circulation stage: sampling pass rate",
    },
    {
        "key": "completion_acceptance",
        "sector": "construction",
        "target": 100.0,
        "where": {"path": ["completion"], "present": True},
        "name_zh": "工程竣工验收合格率",
        "name_en": "Construction: completion acceptance pass rate",
    },
]


class Config:
    """Defaults for a development install: embedded SQLite under ``instance/``."""

    SECRET_KEY = "dev-only-change-me"
    DATABASE_URL: str | None = None  # None → sqlite file under the instance folder
    DATABASE_ECHO = False
    TESTING = False

    # API / OpenAPI (flask-smorest)
    API_TITLE = "inspect-core"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    # one published version (jsDelivr serves a version's files unchanged), not whatever
    # the package's latest is on the day a regulator opens the docs page
    OPENAPI_SWAGGER_UI_URL = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.18.2/"
    JSON_SORT_KEYS = False

    # limits (OWASP API4)
    MAX_CONTENT_LENGTH = 48 * 1024 * 1024  # an upload up to IMPORT_MAX_BYTES, with form overhead
    MAX_JSON_BYTES = 16 * 1024 * 1024  # JSON bodies: a result with a few base64 photos fits
    ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
    # bulk uploads (a 100,000-row food file as .xlsx is ~8 MB; as CSV ~25 MB)
    IMPORT_MAX_BYTES = 40 * 1024 * 1024
    IMPORT_MAX_ROWS = 100_000
    IMPORT_MAX_CELL_CHARS = 2000
    IMPORT_MAX_XLSX_UNCOMPRESSED = 400 * 1024 * 1024
    IMPORT_MAX_XLSX_RATIO = 200
    IMPORT_WORKERS = 0  # processes validating a large upload; 0 = one per CPU
    IMPORT_PARALLEL_MIN_ROWS = 5000
    PAGE_SIZE_DEFAULT = 50
    PAGE_SIZE_MAX = 500

    # plans: the furthest a plan's due date may lie ahead of today (a spot-check plan runs
    # within its year; 2-year plans fit); an earlier date than today is refused always
    PLAN_MAX_DAYS_AHEAD = 731
    # PostgreSQL: the longest one statement of an API request may run, in milliseconds
    # (0: no bound); past it the request is a 503.  The CLI's jobs are not bounded
    STATEMENT_TIMEOUT_MS = 60_000
    # enterprises: the furthest a licence's expiry may lie ahead of today (about 50 years:
    # most licences run 3 to 5 years, a business term 20 to 50); an earlier one than
    # 1900-01-01 or the enterprise's establishment is refused always
    LICENCE_MAX_DAYS_AHEAD = 18_262

    # rate limits (OWASP API2, API4, API6; inspect_core/ratelimit.py, Flask-Limiter).  A
    # limit is a string as the ``limits`` package reads it, several joined by ";"
    # ("10/minute;100/day").  ``memory://`` counts in each server process alone: with more
    # than one (gunicorn workers, hosts) give them a shared store, ``redis://host:6379/0``.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_STRATEGY = "moving-window"  # or "fixed-window", "sliding-window-counter"
    RATELIMIT_KEY_PREFIX = "inspect-core"  # a store shared with other apps keeps them apart
    #: failed logins (401) per username and client address: online password guessing
    RATELIMIT_LOGIN_PER_USERNAME_ADDRESS = "10/minute;100/day"
    #: failed logins per username from any address: guessing spread over many addresses.
    #: Past it the account's owner is refused too, until the window passes, so it sits well
    #: above one address's budget: locking someone out takes ten addresses' worth of
    #: failures, and guessing stays bounded at this many a day whatever the addresses
    RATELIMIT_LOGIN_PER_USERNAME = "1000/day"
    #: every login attempt per client address: each one costs an Argon2 hash
    RATELIMIT_LOGIN_PER_ADDRESS = "60/minute"
    #: exports (risk ranking, results) per account, the two together
    RATELIMIT_EXPORT_PER_USER = "60/hour;300/day"
    #: uploads (results, enterprises, inspectors) per account, the three together
    RATELIMIT_UPLOAD_PER_USER = "60/hour;300/day"
    #: pages of the risk-ranked list and enterprises' credit pages read per account,
    #: together: far above a regulator reading (a page a few seconds), far below paging
    #: the ranking of a district out a page at a time (the export has its own quota)
    RATELIMIT_RANKING_PER_USER = "600/hour;3000/day"
    #: reverse proxies in front of the app that set X-Forwarded-For; 0: the client address
    #: is the connection's (a client's own X-Forwarded-For is never believed)
    TRUSTED_PROXY_COUNT = 0

    # accounts
    TOKEN_TTL_SECONDS = 8 * 3600
    ARGON2_TIME_COST = 2
    ARGON2_MEMORY_COST = 19 * 1024  # KiB: OWASP minimum for Argon2id
    ARGON2_PARALLELISM = 1

    # audit: the Ed25519 private key (a PEM file, ``inspect-core audit keygen``) that signs
    # checkpoints of the chain's head (``inspect-core audit checkpoint``); set it where the
    # cron job runs, never where the database is (README "Audit checkpoints").  The public
    # key checks them (``audit verify --checkpoint``; without it, the private key's public
    # half).  AUDIT_CHECKPOINT_KEY, the HMAC secret of version-1 checkpoints, is refused
    AUDIT_CHECKPOINT_KEY_FILE: str | None = None
    AUDIT_CHECKPOINT_PUBLIC_KEY_FILE: str | None = None

    # plugins: installed is not enabled
    PLUGINS: list[str] | str = ["food", "drugs", "special_equipment", "construction"]
    #: programme KPI lines (pass-rate targets); see inspect_core/kpis.py
    KPI_TARGETS: list[dict[str, Any]] = DEFAULT_KPI_TARGETS
    #: minimum credit scores of tiers A, B and C (higher = lower risk); below C is D.
    #: None (the default): each model's own, set when it is trained so that TIER_SHARES
    #: of the enterprises it could score from their record fall in each tier
    TIER_CUTOFFS: dict[str, float] | None = None
    #: shares of the scored enterprises in A, B, C and D when cut-offs come from the model
    #: (a district's choice, not a national rule: it sets how many are drawn at each
    #: tier's ratio)
    TIER_SHARES: dict[str, float] = {"A": 0.3, "B": 0.4, "C": 0.2, "D": 0.1}
    #: significance level of the scorecard's test that a variable's bins differ in
    #: failure rate; a variable above it is left out (its points would be noise, and its
    #: worst bin a reason).  None: no test (a collinear variable whose coefficient turns
    #: negative is still left out).
    SCORECARD_ALPHA: float | None = 0.01
    #: whether a model weighs each recorded finding by the strictness of the team that
    #: made it (1 / the team's mean strictness, estimated at training), so an enterprise's
    #: rating is its risk net of which inspectors happened to visit (issue #5).  False:
    #: every finding counts whole, as recorded.  Read when a model is trained; a run uses
    #: what its model was trained with.
    SCORING_NET_OF_INSPECTOR: bool = True
    #: credit rules by event type, or type and severity (inspect_core/credit/rules.py):
    #: how long an event counts when recorded without ``expires_on`` (other types: the
    #: type's default; a penalty of only 通报批评 or a low fine, severity minor, is public
    #: for 3 months, others for 3 years: 行政处罚信息公示规定 2021 art. 13).  Terms are
    #: whole days or calendar years or months (``"P3M"``): 90 days are not 3 months
    CREDIT_EVENT_DAYS: dict[str, Any] = {"penalty": {"minor": "P3M"}}
    #: the longest an event may count (``expires_on`` − ``occurred_on``, days): no term in
    #: the credit rules comes near ten years (3 on the serious-dishonesty list, 3 for a
    #: penalty's publicity), so a later date is a typo such as 2062 for 2026; an event meant
    #: to count until removed is recorded without ``expires_on`` (abnormal operations)
    CREDIT_EXPIRY_MAX_DAYS: int = 3653
    #: how long (days, or ``"P1Y"``) an event must have stood before a repair may end it
    #: early (DOMAIN.md §2: a year on the serious-dishonesty list; about a year of a
    #: penalty's publicity [M]); a calendar year: 365 days fell a day short across 29 Feb
    CREDIT_REPAIR_MIN_DAYS: dict[str, Any] = {
        "serious_dishonesty": "P1Y",
        "penalty": {"major": "P1Y", "critical": "P1Y"},
    }
    #: events no repair may end early, matched on type, severity and the enterprise's
    #: sectors (DOMAIN.md §2: serious food, drug and special-equipment cases [M])
    CREDIT_REPAIR_REFUSED: list[dict[str, Any]] = [
        {"type": "penalty", "severity": ["critical"],
         "sectors": ["food", "drugs", "special_equipment"]},
    ]  # fmt: skip
    #: per-sector threshold overrides handed to the plugin as ``context["config"]``
    PLUGIN_CONFIG: dict[str, dict[str, object]] = {}
    SECTORS: dict[str, dict[str, str]] = DEFAULT_SECTORS


def default_sqlite_url(instance_path: str | Path) -> str:
    """Where the embedded database lives when no URL is configured."""
    path = Path(instance_path) / "inspect_core.sqlite3"
    return f"sqlite:///{path}"


def normalise(config: dict[str, Any]) -> None:
    """Coerce values that may arrive as strings from the environment."""
    plugins = config.get("PLUGINS")
    if isinstance(plugins, str):
        config["PLUGINS"] = [p.strip() for p in plugins.split(",") if p.strip()]


def check(config: dict[str, Any]) -> None:
    """Refuse, when the app starts, a setting that would only fail later (``score run``
    died on out-of-order tier cut-offs after scoring every enterprise): a ValueError
    naming the setting and the rule."""
    from scoring.tiers import check_cutoffs, check_shares

    if config.get("TIER_CUTOFFS") is not None:
        try:
            check_cutoffs(config["TIER_CUTOFFS"])
        except ValueError as exc:
            raise ValueError(f"TIER_CUTOFFS (INSPECT_TIER_CUTOFFS): {exc}") from None
    try:
        check_shares(config.get("TIER_SHARES"))  # type: ignore[arg-type]
    except ValueError as exc:
        raise ValueError(f"TIER_SHARES (INSPECT_TIER_SHARES): {exc}") from None
    alpha = config.get("SCORECARD_ALPHA")
    if alpha is not None and (
        isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha <= 1
    ):
        raise ValueError(
            f"SCORECARD_ALPHA (INSPECT_SCORECARD_ALPHA): {alpha!r} — a number above 0 and at "
            "most 1, or null for no test / 评分卡显著性水平须为大于0且不超过1的数，"
            "或为 null（不做显著性检验）"
        )
    if not isinstance(config.get("SCORING_NET_OF_INSPECTOR"), bool):
        raise ValueError(
            "SCORING_NET_OF_INSPECTOR (INSPECT_SCORING_NET_OF_INSPECTOR): "
            f"{config.get('SCORING_NET_OF_INSPECTOR')!r} — true or false / 须为 true 或 false"
        )
    check_whole_number(config, "PLAN_MAX_DAYS_AHEAD", 731, 36_500, "days", "计划截止日最远天数")
    check_whole_number(
        config, "LICENCE_MAX_DAYS_AHEAD", 18_262, 36_500, "days", "许可证有效期最远天数"
    )
    check_whole_number(
        config, "STATEMENT_TIMEOUT_MS", 60_000, 3_600_000, "milliseconds", "单条SQL语句最长毫秒数"
    )
    # the upload limits and workers are read with int() at each upload: "40MB" failed
    # every upload with a 500, and a row limit of -1 refused every file
    for key, default, low, top, unit, name_zh in IMPORT_SETTINGS:
        check_whole_number(config, key, default, top, unit, name_zh, low)
    check_rate_limits(config)
    from inspect_core.kpis import check_targets

    check_targets(config)
    # the credit rules are checked by create_app once the plugins are loaded, since a
    # repair rule may name a sector only a plugin declares (inspect_core/credit/rules.py)


#: the upload settings (README): key, default, least, greatest, unit, zh-CN name
IMPORT_SETTINGS = (
    ("IMPORT_MAX_BYTES", 40 * 1024 * 1024, 1, 2**40, "bytes", "上传文件最大字节数"),
    ("IMPORT_MAX_ROWS", 100_000, 1, 100_000_000, "rows", "上传文件最多数据行数"),
    ("IMPORT_MAX_CELL_CHARS", 2000, 1, 100_000_000, "characters", "单元格最多字符数"),
    ("IMPORT_MAX_XLSX_UNCOMPRESSED", 400 * 1024 * 1024, 1, 2**40, "bytes", "xlsx解压后最大字节数"),
    ("IMPORT_MAX_XLSX_RATIO", 200, 1, 1_000_000, "", "xlsx最大压缩比"),
    ("IMPORT_WORKERS", 0, 0, 1024, "processes", "导入校验进程数"),
    ("IMPORT_PARALLEL_MIN_ROWS", 5000, 0, 100_000_000, "rows", "多进程校验的最少行数"),
)

#: the settings holding a limit string (inspect_core/ratelimit.py)
RATE_LIMIT_SETTINGS = (
    "RATELIMIT_LOGIN_PER_USERNAME_ADDRESS",
    "RATELIMIT_LOGIN_PER_USERNAME",
    "RATELIMIT_LOGIN_PER_ADDRESS",
    "RATELIMIT_EXPORT_PER_USER",
    "RATELIMIT_UPLOAD_PER_USER",
    "RATELIMIT_RANKING_PER_USER",
)
RATE_LIMIT_STRATEGIES = ("fixed-window", "moving-window", "sliding-window-counter")


def check_rate_limits(config: dict[str, Any]) -> None:
    """The rate-limit settings: each limit string readable and not empty, a known strategy
    and storage scheme, a whole number of proxies.  A limit that did not parse was only
    logged by Flask-Limiter, on each request, and the route left unlimited."""
    from limits import parse_many
    from limits.storage import SCHEMES

    for key in RATE_LIMIT_SETTINGS:
        value = config.get(key)
        try:
            if not isinstance(value, str) or not parse_many(value):
                raise ValueError
        except ValueError:
            raise ValueError(
                f"{key} (INSPECT_{key}): {value!r} — one or more limits such as "
                '"10/minute" or "60/hour;300/day" / 限流设置须为如 "10/minute" 或 '
                '"60/hour;300/day" 的限额'
            ) from None
    strategy = config.get("RATELIMIT_STRATEGY", "moving-window")
    if strategy not in RATE_LIMIT_STRATEGIES:
        raise ValueError(
            f"RATELIMIT_STRATEGY (INSPECT_RATELIMIT_STRATEGY): {strategy!r} — one of "
            f"{', '.join(RATE_LIMIT_STRATEGIES)} / 限流算法须为"
            f"{'、'.join(RATE_LIMIT_STRATEGIES)}之一"
        )
    uri = config.get("RATELIMIT_STORAGE_URI", "memory://")
    scheme = uri.split("://", 1)[0] if isinstance(uri, str) and "://" in uri else None
    if scheme not in SCHEMES or scheme.startswith("async+"):
        raise ValueError(
            f"RATELIMIT_STORAGE_URI (INSPECT_RATELIMIT_STORAGE_URI): {uri!r} — a storage URI "
            "such as memory:// or redis://host:6379/0 / 限流计数存储须为如 memory:// 或 "
            "redis://host:6379/0 的地址"
        )
    check_whole_number(config, "TRUSTED_PROXY_COUNT", 0, 10, "", "可信反向代理层数")


def check_whole_number(
    config: dict[str, Any],
    key: str,
    default: int,
    top: int,
    unit: str,
    name_zh: str,
    low: int = 0,
) -> None:
    """``key`` is a whole number from ``low`` to ``top`` (a bool is not), or a ValueError
    naming the setting and its variable in English and zh-CN."""
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= top:
        of = f" of {unit}" if unit else ""
        raise ValueError(
            f"{key} (INSPECT_{key}): {value!r} — a whole number{of} from {low} to {top} / "
            f"{name_zh}须为{low}至{top}的整数"
        )
