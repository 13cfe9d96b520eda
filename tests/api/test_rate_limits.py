"""Rate limits and quotas (OWASP API2, API4, API6; RELIABILITY.md §1.8): login per username
and address, per username and per address; exports, uploads and reading the risk ranking
per account; a 429 in the error shape with ``Retry-After``, and never a 500 from the
limiter's store."""

from __future__ import annotations

import importlib
import io
import json
import socket
import uuid
from types import SimpleNamespace

import pytest

from inspect_core.app import create_app
from inspect_core.auth.service import create_user
from inspect_core.db import db
from tests import factories
from tests.conftest import TEST_CONFIG, identities

TOKEN = "/api/v1/auth/token"
PASSWORD = "correct horse"


def login(client, username, password=PASSWORD, address="10.0.0.1", **headers):
    return client.post(
        TOKEN,
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
        headers=headers,
    )


def users(app, *names):
    with app.app_context():
        for name in names:
            create_user(db.session, name, PASSWORD, "regulator")
        db.session.commit()


def assert_limited(response, field):
    """A 429 in the one error shape, in both languages, naming ``field``, with a
    ``Retry-After`` of whole seconds."""
    assert response.status_code == 429, response.json
    body = response.json
    assert body["code"] == 429 and body["status"] == "Too Many Requests"
    assert body["message"] and body["message_zh"]
    assert list(body["errors"]) == [field] and list(body["errors_zh"]) == [field]
    assert body["errors_zh"][field] != body["errors"][field]  # translated, not echoed
    retry = int(response.headers["Retry-After"])
    assert retry >= 1
    assert f"{retry} seconds" in body["errors"][field][0]
    return retry


@pytest.fixture
def clock(monkeypatch):
    """A clock the test moves, for the limits' store and the limiter's Retry-After."""
    now = {"t": 1_800_000_000.0}
    fake = SimpleNamespace(time=lambda: now["t"])
    for name in (
        "limits.storage.memory",
        "limits.strategies",
        "flask_limiter._extension",
        "inspect_core.ratelimit",
    ):
        monkeypatch.setattr(importlib.import_module(name), "time", fake)

    def advance(seconds: float) -> None:
        now["t"] += seconds

    return advance


# --- login -----------------------------------------------------------------------------


def test_failed_logins_past_the_per_username_limit_get_a_429_in_both_languages(app_factory):
    """Password guessing against one account from one address is stopped after the
    configured failures, before any more Argon2 work."""
    app = app_factory(RATELIMIT_LOGIN_PER_USERNAME_ADDRESS="3/minute")
    users(app, "li.na")
    client = app.test_client()
    for _ in range(3):
        assert login(client, "li.na", "wrong guess").status_code == 401
    response = login(client, "li.na", "wrong guess")
    retry = assert_limited(response, "username")
    assert retry <= 60
    assert "per username and address" in response.json["message"]
    assert response.json["message_zh"].startswith("登录失败次数过多")


def test_another_username_or_another_address_still_gets_through(app_factory):
    """The per-pair limit locks one username at one address: a colleague behind the same
    office address, or the same user from elsewhere, still logs in."""
    app = app_factory(RATELIMIT_LOGIN_PER_USERNAME_ADDRESS="2/minute")
    users(app, "li.na", "wang.wu")
    client = app.test_client()
    for _ in range(2):
        assert login(client, "li.na", "wrong guess").status_code == 401
    assert login(client, "li.na").status_code == 429
    assert login(client, "wang.wu").status_code == 200
    assert login(client, "li.na", address="10.0.0.2").status_code == 200


def test_a_correct_password_is_refused_until_the_window_passes(app_factory, clock):
    """Past the limit the password is not even looked at: a guesser learns nothing from
    the right one until the window has passed, when it works again."""
    app = app_factory(RATELIMIT_LOGIN_PER_USERNAME_ADDRESS="2/minute")
    users(app, "li.na")
    client = app.test_client()
    for _ in range(2):
        assert login(client, "li.na", "wrong guess").status_code == 401
    refused = login(client, "li.na")
    assert refused.status_code == 429
    assert "access_token" not in refused.json
    clock(30)
    assert login(client, "li.na").status_code == 429
    clock(31)
    assert login(client, "li.na").status_code == 200


def test_successful_logins_do_not_use_up_the_per_username_budget(app_factory):
    """Only failures count per username and address: a script that logs in often is
    not locked out by its own successes (the per-address limit bounds their cost)."""
    app = app_factory(RATELIMIT_LOGIN_PER_USERNAME_ADDRESS="2/minute")
    users(app, "li.na")
    client = app.test_client()
    for _ in range(5):
        assert login(client, "li.na").status_code == 200


def test_the_username_is_keyed_as_the_login_reads_it(app_factory):
    """Usernames are compared exactly (no case folding or trimming), so ``Li.Na`` is
    another account and another budget, while a repeated exact name shares one."""
    app = app_factory(RATELIMIT_LOGIN_PER_USERNAME_ADDRESS="2/minute")
    users(app, "li.na", "Li.Na")
    client = app.test_client()
    for _ in range(2):
        assert login(client, "li.na", "wrong guess").status_code == 401
    assert login(client, "li.na").status_code == 429
    assert login(client, "Li.Na").status_code == 200
    assert login(client, " li.na", "wrong guess").status_code == 401  # another name


def _padded_login(client, username, password=PASSWORD, address="10.0.0.1"):
    """A login whose JSON is padded with whitespace past the size the limiter reads."""
    body = json.dumps({"username": username, "password": password}) + " " * 20_000
    return client.post(
        TOKEN, data=body, content_type="application/json", environ_base={"REMOTE_ADDR": address}
    )


def _chunked_login(client, username, password=PASSWORD, address="10.0.0.1"):
    """A login sent chunked: no Content-Length (a server sets ``wsgi.input_terminated``)."""
    body = json.dumps({"username": username, "password": password}).encode()
    return client.post(
        TOKEN,
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        environ_base={"REMOTE_ADDR": address},
        environ_overrides={"wsgi.input_terminated": True},
    )


@pytest.mark.parametrize("send", [_padded_login, _chunked_login], ids=["padded", "chunked"])
def test_a_login_body_the_limiter_cannot_key_gets_no_password_check(app_factory, send):
    """A body the limiter does not read a username from (past its size, or chunked) was
    counted under no username, and its password checked: past the account's limit, the
    guesser went on, and the right password got a token.  It is refused with a 413."""
    app = app_factory(RATELIMIT_LOGIN_PER_USERNAME_ADDRESS="2/minute")
    users(app, "li.na")
    client = app.test_client()
    for _ in range(2):
        assert login(client, "li.na", "wrong guess").status_code == 401
    assert login(client, "li.na").status_code == 429
    refused = send(client, "li.na")
    assert refused.status_code == 413, refused.json
    assert "access_token" not in refused.json and list(refused.json["errors"]) == ["body"]
    # and on an account not locked out, such a body is refused all the same
    users(app, "wang.wu")
    assert send(client, "wang.wu").status_code == 413
    assert login(client, "wang.wu").status_code == 200


def test_failed_logins_spread_over_addresses_are_bounded_per_username(app_factory):
    """Guessing one account's password from many addresses (a botnet) gets each address
    a fresh per-pair budget; the per-username limit bounds them all together, and
    another account is untouched."""
    app = app_factory(RATELIMIT_LOGIN_PER_USERNAME="3/minute")
    users(app, "li.na", "wang.wu")
    client = app.test_client()
    for n in range(3):
        assert login(client, "li.na", "wrong guess", address=f"10.0.1.{n}").status_code == 401
    response = login(client, "li.na", address="10.0.1.99")
    assert_limited(response, "username")
    assert "from any address" in response.json["message"]
    assert response.json["message_zh"].startswith("登录失败次数过多")
    assert login(client, "wang.wu", address="10.0.1.99").status_code == 200


def test_every_login_attempt_counts_per_address(app_factory):
    """Each attempt costs an Argon2 hash, right or wrong, and any username: the
    per-address limit counts them all (spraying many usernames, or a login flood)."""
    app = app_factory(RATELIMIT_LOGIN_PER_ADDRESS="4/minute")
    users(app, "li.na", "wang.wu")
    client = app.test_client()
    assert login(client, "li.na").status_code == 200
    assert login(client, "wang.wu", "wrong guess").status_code == 401
    assert login(client, "nobody", "wrong guess").status_code == 401
    assert login(client, "someone").status_code == 401
    response = login(client, "wang.wu")
    assert_limited(response, "rate")
    assert "per address" in response.json["message"]
    assert login(client, "wang.wu", address="10.0.0.9").status_code == 200


def test_a_forged_x_forwarded_for_gets_no_fresh_budget(app_factory):
    """The client address is the connection's unless proxies are configured: a client
    sending its own X-Forwarded-For is still counted as itself."""
    app = app_factory(RATELIMIT_LOGIN_PER_ADDRESS="2/minute")
    client = app.test_client()
    for n in range(2):
        assert login(client, "nobody", "x", **{"X-Forwarded-For": f"1.1.1.{n}"}).status_code == 401
    forged = login(client, "nobody", "x", **{"X-Forwarded-For": "1.1.1.9"})
    assert forged.status_code == 429


def test_behind_a_configured_proxy_the_forwarded_address_is_the_client(app_factory):
    """With ``TRUSTED_PROXY_COUNT=1`` (one reverse proxy) each client behind it has its
    own budget: without it every client would share the proxy's."""
    app = app_factory(RATELIMIT_LOGIN_PER_ADDRESS="2/minute", TRUSTED_PROXY_COUNT=1)
    client = app.test_client()
    for _ in range(2):
        assert login(client, "nobody", "x", **{"X-Forwarded-For": "1.1.1.1"}).status_code == 401
    assert login(client, "nobody", "x", **{"X-Forwarded-For": "1.1.1.1"}).status_code == 429
    assert login(client, "nobody", "x", **{"X-Forwarded-For": "1.1.1.2"}).status_code == 401


def test_ipv6_clients_are_counted_by_their_64_prefix(app_factory):
    """One IPv6 subscriber holds a whole /64: counted per address it would have 2^64
    budgets."""
    app = app_factory(RATELIMIT_LOGIN_PER_ADDRESS="2/minute")
    client = app.test_client()
    for n in range(2):
        assert login(client, "nobody", "x", address=f"2001:db8::{n + 1}").status_code == 401
    assert login(client, "nobody", "x", address="2001:db8::ffff:1").status_code == 429
    assert login(client, "nobody", "x", address="2001:db8:0:1::1").status_code == 401


# --- quotas ----------------------------------------------------------------------------


def test_export_quota_is_per_account_over_both_exports(app_factory):
    """A scraping loop over the exports is stopped per account; another account is
    unaffected, and a request without a token is a 401, not counted."""
    app = app_factory(RATELIMIT_EXPORT_PER_USER="3/hour")
    client = app.test_client()
    make = identities(app, client)
    first, second = make("regulator"), make("regulator")
    urls = ["/api/v1/rankings/export", "/api/v1/results/export?sector=food"]
    assert client.get(urls[0]).status_code == 401
    for url in (*urls, urls[1]):
        assert client.get(url, headers=first).status_code != 429
    for url in urls:
        response = client.get(url, headers=first)
        assert_limited(response, "rate")
        assert "export quota" in response.json["message"]
    assert client.get(urls[1], headers=second).status_code == 200


def test_head_of_an_export_counts_as_the_export(app_factory):
    """HEAD runs the export's work too: it may not go round the quota."""
    app = app_factory(RATELIMIT_EXPORT_PER_USER="1/hour")
    client = app.test_client()
    regulator = identities(app, client)("regulator")
    url = "/api/v1/results/export?sector=food"
    assert client.head(url, headers=regulator).status_code == 200
    assert client.get(url, headers=regulator).status_code == 429


def test_reading_the_risk_ranking_is_a_per_account_quota(app_factory):
    """Paging the ranked list, or reading enterprises' credit pages one by one, is the
    export by other means (API6): one budget per account over both, counted for ranked
    pages only; the plain list and another account are unaffected."""
    app = app_factory(RATELIMIT_RANKING_PER_USER="3/hour")
    client = app.test_client()
    make = identities(app, client)
    admin, first, second = make("admin"), make("regulator"), make("regulator")
    enterprise = factories.enterprise()
    assert client.post("/api/v1/enterprises", json=enterprise, headers=admin).status_code == 201
    credit = f"/api/v1/enterprises/{enterprise['uscc']}/credit"
    ranked = ["/api/v1/enterprises?order=risk", "/api/v1/enterprises?tier=D", credit]
    for url in ranked:
        assert client.get(url, headers=first).status_code != 429
    for url in ranked:
        response = client.get(url, headers=first)
        assert_limited(response, "rate")
        assert "risk-ranking reading quota" in response.json["message"]
        assert response.json["message_zh"].startswith("风险排序查阅次数已达上限")
    assert client.get("/api/v1/enterprises", headers=first).status_code == 200
    assert client.get(credit, headers=second).status_code != 429


def test_a_caller_without_the_permission_gets_its_403_and_spends_no_quota(app_factory):
    """The quotas count requests the caller may make: an inspector asking for the
    ranking or its export is told 403 every time (not 429), and its account's budget
    is left for what it may do."""
    app = app_factory(RATELIMIT_RANKING_PER_USER="1/hour", RATELIMIT_EXPORT_PER_USER="1/hour")
    client = app.test_client()
    make = identities(app, client)
    badge = factories.inspector()
    assert client.post("/api/v1/inspectors", json=badge, headers=make("admin")).status_code == 201
    inspector = make("inspector", badge=badge["badge"])
    for url in ("/api/v1/enterprises?order=risk", "/api/v1/rankings/export"):
        for _ in range(3):
            response = client.get(url, headers=inspector)
            assert response.status_code == 403, response.json
    assert client.get("/api/v1/enterprises", headers=inspector).status_code == 200


def _upload(client, path, headers):
    rows = "统一社会信用代码,企业名称\n91110000600037341L,重庆测试有限公司\n"
    return client.post(
        path,
        data={"file": (io.BytesIO(rows.encode()), "e.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_upload_quota_is_per_account_over_the_upload_routes(app_factory):
    """Repeated re-uploads are bounded per account, whatever the file's fate; another
    account uploads on."""
    app = app_factory(RATELIMIT_UPLOAD_PER_USER="2/hour")
    client = app.test_client()
    make = identities(app, client)
    first, second = make("admin"), make("admin")
    assert _upload(client, "/api/v1/enterprises/import", first).status_code != 429
    assert _upload(client, "/api/v1/inspectors/import", first).status_code != 429
    for path in ("/api/v1/enterprises/import", "/api/v1/results/import"):
        response = _upload(client, path, first)
        assert_limited(response, "rate")
        assert response.json["message_zh"].startswith("上传次数已达上限")
    assert _upload(client, "/api/v1/enterprises/import", second).status_code != 429


# --- the store -------------------------------------------------------------------------


def test_a_failing_store_gives_no_500_and_the_limits_go_on_in_memory(app_factory, caplog):
    """Redis down must not take login down (fail-closed would lock everyone out) nor
    lift the limits (fail-open would hand guessers a free run): each process keeps
    counting in its own memory until the store answers again."""
    app = app_factory(RATELIMIT_LOGIN_PER_USERNAME_ADDRESS="2/minute")
    users(app, "li.na")
    store = app.extensions["inspect_limiter"].storage

    def down(*args, **kwargs):
        raise ConnectionError("store unreachable")

    for name in ("incr", "get", "get_expiry", "acquire_entry", "get_moving_window", "check"):
        setattr(store, name, down)
    client = app.test_client()
    assert login(client, "li.na").status_code == 200
    for _ in range(2):
        assert login(client, "li.na", "wrong guess").status_code == 401
    assert_limited(login(client, "li.na"), "username")
    assert "falling back to in-memory storage" in caplog.text


def test_an_unreachable_redis_gives_no_500(app_factory):
    """The same with a real store that refuses connections (nothing listens on port 1):
    logins go on, limited in memory."""
    pytest.importorskip("redis")
    app = app_factory(
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0", RATELIMIT_LOGIN_PER_ADDRESS="2/minute"
    )
    users(app, "li.na")
    client = app.test_client()
    assert login(client, "li.na").status_code == 200
    assert login(client, "li.na", "wrong guess").status_code == 401
    assert_limited(login(client, "li.na"), "rate")


def test_a_redis_store_does_not_wait_without_end(app_factory):
    """redis-py waits for a connection without end by default: a store host dropping
    packets would hold every login instead of letting it fall back to memory."""
    pytest.importorskip("redis")
    app = app_factory(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0")
    pool = app.extensions["inspect_limiter"].storage.storage.connection_pool
    assert pool.connection_kwargs["socket_connect_timeout"] == 0.5
    assert pool.connection_kwargs["socket_timeout"] == 0.5


def test_redis_store_is_shared_by_server_processes(app_factory):
    """Two apps (two server processes) on one Redis share each budget: with
    ``memory://`` each would allow the limit on its own.  Skipped without Redis."""
    pytest.importorskip("redis")
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    config = {
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "RATELIMIT_KEY_PREFIX": f"inspect-core-test-{uuid.uuid4().hex}",
        "RATELIMIT_LOGIN_PER_ADDRESS": "3/minute",
    }
    one, two = app_factory(**config).test_client(), app_factory(**config).test_client()
    assert login(one, "nobody", "x").status_code == 401
    assert login(two, "nobody", "x").status_code == 401
    assert login(one, "nobody", "x").status_code == 401
    assert login(two, "nobody", "x").status_code == 429


# --- settings and document -------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("RATELIMIT_LOGIN_PER_ADDRESS", "lots"),
        ("RATELIMIT_EXPORT_PER_USER", ""),
        ("RATELIMIT_STRATEGY", "leaky-bucket"),
        ("RATELIMIT_STORAGE_URI", "redis-ish"),
        ("TRUSTED_PROXY_COUNT", -1),
    ],
)
def test_a_malformed_rate_limit_setting_is_refused_at_start(setting, value):
    """A limit that does not parse was only logged, on each request, and the route left
    unlimited: refused when the app starts, naming the setting."""
    with pytest.raises(ValueError, match=setting):
        create_app({**TEST_CONFIG, "DATABASE_URL": "sqlite://", setting: value})


LIMITED_OPERATIONS = [
    ("/api/v1/auth/token", "post"),
    ("/api/v1/enterprises", "get"),
    ("/api/v1/enterprises/{uscc}/credit", "get"),
    ("/api/v1/rankings/export", "get"),
    ("/api/v1/results/export", "get"),
    ("/api/v1/results/import", "post"),
    ("/api/v1/enterprises/import", "post"),
    ("/api/v1/inspectors/import", "post"),
]


def test_the_limited_operations_document_their_429(client):
    """A client generated from the document knows a 429 and its Retry-After; the
    uploads keep their own 422 beside it."""
    spec = client.get("/api/openapi.json").json
    for path, method in LIMITED_OPERATIONS:
        responses = spec["paths"][path][method]["responses"]
        assert responses["429"] == {"$ref": "#/components/responses/TOO_MANY_REQUESTS_LIMITED"}
    assert "422" in spec["paths"]["/api/v1/results/import"]["post"]["responses"]
    limited = spec["components"]["responses"]["TOO_MANY_REQUESTS_LIMITED"]
    assert "Retry-After" in limited["headers"]
    assert limited["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    others = [
        (path, method)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method != "parameters" and "429" in operation["responses"]
    ]
    assert sorted(others) == sorted(LIMITED_OPERATIONS)
