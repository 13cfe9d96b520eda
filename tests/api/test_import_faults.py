"""Fault injection on PostgreSQL: the server connection is killed in the middle of an
import's insert.  Nothing of it may be stored, and the retry with the same
Idempotency-Key must succeed and store every row exactly once (RELIABILITY.md §1.7)."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select, text

from inspect_core.db import db
from inspect_core.imports import service as imports
from inspect_core.imports.models import Import
from inspect_core.results.models import Result
from tests import factories

pytestmark = pytest.mark.db


def food_upload(app, rows: int, registry: int) -> tuple[dict[str, str], bytes]:
    """An admin of a committed app, ``registry`` food enterprises and inspectors, a drawn
    plan, and a results CSV of ``rows`` rows over its tasks: (auth headers, file)."""
    client = app.test_client()
    headers = factories.committed_user(app, "boss", "admin")
    for i in range(registry):
        body = factories.enterprise(region=factories.REGIONS[i % 2], sectors=["food"])
        assert client.post("/api/v1/enterprises", json=body, headers=headers).status_code == 201
        body = factories.inspector(region=factories.REGIONS[i % 2], qualifications=["food"])
        assert client.post("/api/v1/inspectors", json=body, headers=headers).status_code == 201
    plan_id = factories.create_plan(
        client, headers, ratios={"A": "1", "B": "1", "C": "1", "D": "1"}
    )
    drawn = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 5}, headers=headers)
    assert drawn.status_code == 201, drawn.json
    tasks = client.get(f"/api/v1/tasks?plan={plan_id}&limit=100", headers=headers).json["items"]
    header = ["任务编号", "检查结论", "样品编号", "食品名称", "食品类别（代码）", "抽样日期", "抽样环节",
              "检验项目1（代码）", "检验结果1", "计量单位1"]  # fmt: skip
    lines = [header] + [
        [tasks[i % len(tasks)]["id"], "no_problem", f"S-{i}", "大米", "cereal.rice.milled",
         "2026-11-20", "circulation", "Cd", "0.1", "mg/kg"]
        for i in range(rows)
    ]  # fmt: skip
    buffer = io.StringIO()
    csv.writer(buffer).writerows(lines)
    return headers, buffer.getvalue().encode("utf-8")


def test_connection_killed_mid_import_stores_nothing_and_retry_succeeds(committed_app, monkeypatch):
    app, admin = committed_app
    client = app.test_client()
    headers, content = food_upload(app, rows=2500, registry=6)

    def post():
        return client.post(
            "/api/v1/results/import",
            data={"file": (io.BytesIO(content), "results.csv"), "sector": "food"},
            headers={**headers, "Idempotency-Key": "kill-me"},
            content_type="multipart/form-data",
        )

    # kill the app's own backend once the first chunk (250 rows) is copied: four chunks
    # are still to be validated and copied, and nothing is committed yet
    real_copy = imports._copy_results
    killed = []

    def copy_then_die(session, chunk):
        real_copy(session, chunk)
        if not killed:
            pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killed.append(pid)

    monkeypatch.setattr(imports, "_copy_results", copy_then_die)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    first = post()
    assert killed, "the backend was not killed"
    assert first.status_code == 500
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Result)) == 0
        pending = db.session.scalars(
            select(Import).where(Import.idempotency_key == "kill-me")
        ).all()
        assert [(u.status, u.accepted) for u in pending] == [("received", 0)]  # the raw file kept

    monkeypatch.setattr(imports, "_copy_results", real_copy)
    retry = post()
    assert retry.status_code == 201, retry.json
    assert (retry.json["received"], retry.json["accepted"], retry.json["rejected"]) == (
        2500,
        2500,
        0,
    )
    assert retry.json["import_id"] == pending[0].id
    again = post()
    assert again.json == retry.json
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Result)) == 2500


@pytest.mark.parametrize("second_comes", ["while_the_first_is_received", "while_it_is_read"])
def test_two_identical_uploads_under_one_key_at_once_store_the_file_once(
    committed_app, monkeypatch, second_comes
):
    """An inspector's client that times out and retries sends the same file under the same
    Idempotency-Key while the first attempt still runs.  The second found the key free (or
    the import unfinished), so both read and stored the file, and the second died on the
    key's unique index: a 500.  Now the first attempt holds its import row locked until it
    commits; the second gets a 409 naming the key (or, if the first has finished, its
    answer), and a retry afterwards replays the first answer.  The first lingers where
    ``second_comes``: after adding its import, before committing it; or after claiming
    it, before reading the rows."""
    import threading

    app, _ = committed_app
    headers, content = food_upload(app, rows=300, registry=4)

    def post():
        return app.test_client().post(
            "/api/v1/results/import",
            data={"file": (io.BytesIO(content), "results.csv"), "sector": "food"},
            headers={**headers, "Idempotency-Key": "retry-on-timeout"},
            content_type="multipart/form-data",
        )

    started = threading.Event()

    def linger() -> None:
        if threading.current_thread().name == "first" and not started.is_set():
            started.set()
            threading.Event().wait(1.0)

    if second_comes == "while_the_first_is_received":
        real_audit = imports.audit

        def audit(session, user, action, *args, **kwargs):
            if action == "import.receive":
                linger()
            return real_audit(session, user, action, *args, **kwargs)

        monkeypatch.setattr(imports, "audit", audit)
    else:
        real_process = imports._process

        def process(*args, **kwargs):
            linger()
            return real_process(*args, **kwargs)

        monkeypatch.setattr(imports, "_process", process)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    answers: dict[str, object] = {}

    def run(name: str) -> None:
        answers[name] = post()

    first = threading.Thread(target=run, args=("first",), name="first")
    first.start()
    assert started.wait(10)
    run("second")
    first.join(30)
    assert answers["first"].status_code == 201, answers["first"].json
    second = answers["second"]
    if second.status_code == 409:
        assert "Idempotency-Key" in second.json["errors"], second.json
        assert second.json["message_zh"], second.json
    else:  # the first had finished: its answer
        assert (second.status_code, second.json) == (201, answers["first"].json)
    again = post()
    assert (again.status_code, again.json) == (201, answers["first"].json)
    assert again.headers.get("Idempotent-Replayed") == "true"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Result)) == 300
        uploads = db.session.scalars(select(Import)).all()
        assert [(u.status, u.accepted) for u in uploads] == [("done", 300)]


def test_two_registry_uploads_naming_one_uscc_at_once_store_it_once(committed_app, monkeypatch):
    """Two regulators upload different enterprise files at the same moment, both naming
    one USCC.  Each found the code free and inserted it; the second waited on the
    first's row of the unique index and died on it when the first committed: a 500, its
    import left "received".  Now the second waits for the first before checking, so its
    row is refused as already registered, and its other row is stored."""
    import threading

    from inspect_core.enterprises.models import Enterprise

    app, _ = committed_app
    first_headers = factories.committed_user(app, "first", "admin")
    second_headers = factories.committed_user(app, "second", "admin")
    shared = factories.uscc()

    def upload(headers, name):
        return _post_registry_file(app, headers, *_registry_file("enterprises", shared, name))

    # checked, not yet stored: the second upload comes now
    started = _linger_in_thread(monkeypatch, "_enterprise_checks", "first")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    answers = {}
    first = threading.Thread(
        target=lambda: answers.update(first=upload(first_headers, "甲")), name="first"
    )
    first.start()
    assert started.wait(10)
    second = upload(second_headers, "乙")
    first.join(30)
    assert answers["first"].status_code == 201, answers["first"].json
    assert (answers["first"].json["accepted"], answers["first"].json["rejected"]) == (2, 0)
    assert second.status_code == 201, second.json
    assert (second.json["accepted"], second.json["rejected"]) == (1, 1)
    [error] = second.json["errors"]
    assert (error["row"], error["field"], error["message"]) == (2, "uscc", "already registered")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Enterprise)) == 3
        uploads = db.session.scalars(select(Import).order_by(Import.id)).all()
        assert [(u.status, u.accepted, u.rejected) for u in uploads] == [
            ("done", 2, 0),
            ("done", 1, 1),
        ]


def _registry_file(kind: str, shared: str, name: str) -> tuple[str, bytes]:
    """A two-row registry CSV of ``kind``: ``shared`` (a USCC or badge), then a fresh one."""
    if kind == "enterprises":
        rows = [factories.ENTERPRISE_HEADER, [shared, "重庆同码有限公司", "food", "华岩镇", "", "", ""],
                [factories.uscc(), name, "food", "华岩镇", "", "", ""]]  # fmt: skip
    else:
        rows = [["执法证号", "姓名", "所属单位", "所属街镇", "执法资格", "在岗"],
                [shared, "李娜", "九龙坡区市场监管局华岩所", "华岩镇", "food", "是"],
                [factories.inspector()["badge"], name, "九龙坡区市场监管局华岩所", "华岩镇", "food", "是"]]  # fmt: skip
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return f"/api/v1/{kind}/import?mode=partial", buffer.getvalue().encode()


def _post_registry_file(app, headers: dict, path: str, content: bytes):
    """POST ``content`` as a CSV upload to ``path``."""
    return app.test_client().post(
        path,
        data={"file": (io.BytesIO(content), "registry.csv")},
        headers=headers,
        content_type="multipart/form-data",
    )


def _linger_in_thread(monkeypatch, checks: str, thread: str):
    """The upload's duplicate checks (``imports.<checks>``) run in the thread named
    ``thread`` pause a second once done, before its rows are stored; the event is set then."""
    import threading

    from tests.concurrency import linger

    return linger(
        monkeypatch,
        imports,
        checks,
        when=lambda *args, **kwargs: threading.current_thread().name == thread,
        seconds=1.0,
    )


def _single(kind: str, shared: str) -> dict:
    """The JSON body of a single create naming ``shared``."""
    if kind == "enterprises":
        return factories.enterprise(uscc=shared, region="华岩镇")
    return factories.inspector(badge=shared, region="华岩镇")


def _registry_count(app, kind: str) -> int:
    from inspect_core.enterprises.models import Enterprise
    from inspect_core.inspectors.models import Inspector

    model = Enterprise if kind == "enterprises" else Inspector
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("kind", ["enterprises", "inspectors"])
def test_single_create_committed_during_a_registry_upload_is_a_409_not_a_500(
    committed_app, monkeypatch, kind
):
    """An enterprise (or inspector) registered through ``POST /enterprises`` between a
    registry upload's duplicate check and its insert: the upload died on the unique index
    (a 500, its import left "received").  Now the single create waits for the upload, and
    is refused as already registered; the upload stores both its rows."""
    import threading

    app, _ = committed_app
    headers = factories.committed_user(app, "boss", "admin")
    shared = factories.uscc() if kind == "enterprises" else factories.inspector()["badge"]
    field = "uscc" if kind == "enterprises" else "badge"
    path, content = _registry_file(kind, shared, "甲")

    # checked, not yet stored: the single create comes now
    checks = "_enterprise_checks" if kind == "enterprises" else "_inspector_checks"
    started = _linger_in_thread(monkeypatch, checks, "upload")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    answers = {}
    upload = threading.Thread(
        target=lambda: answers.update(upload=_post_registry_file(app, headers, path, content)),
        name="upload",
    )
    upload.start()
    assert started.wait(10)
    single = app.test_client().post(f"/api/v1/{kind}", json=_single(kind, shared), headers=headers)
    upload.join(30)
    assert answers["upload"].status_code == 201, answers["upload"].json
    assert (answers["upload"].json["accepted"], answers["upload"].json["rejected"]) == (2, 0)
    assert single.status_code == 409, single.json
    assert single.json["errors"] == {field: ["already registered"]}
    assert _registry_count(app, kind) == 2
    with app.app_context():
        [done] = db.session.scalars(select(Import)).all()
        assert (done.status, done.accepted) == ("done", 2)


@pytest.mark.parametrize("kind", ["enterprises", "inspectors"])
def test_registry_upload_during_an_uncommitted_single_create_refuses_that_row(
    committed_app, monkeypatch, kind
):
    """The other order: a registry upload has received its file when a single create
    inserts the same code, and checks for duplicates before the create commits.  The
    upload found the code free and died on the unique index once the create committed (a
    500).  Now the upload waits for the create, and refuses that row as already
    registered."""
    from inspect_core.enterprises import service as enterprises
    from inspect_core.inspectors import service as inspectors
    from tests.concurrency import linger, together

    app, _ = committed_app
    headers = factories.committed_user(app, "boss", "admin")
    shared = factories.uscc() if kind == "enterprises" else factories.inspector()["badge"]
    field = "uscc" if kind == "enterprises" else "badge"
    path, content = _registry_file(kind, shared, "乙")
    # the create's row inserted, uncommitted, for a second; the upload's file received
    # (its own audit event committed) and its rows checked only then
    inside = linger(monkeypatch, enterprises if kind == "enterprises" else inspectors, seconds=1.0)
    real_serialise = imports._serialise

    def serialise(*args, **kwargs):
        assert inside.wait(10)
        return real_serialise(*args, **kwargs)

    monkeypatch.setattr(imports, "_serialise", serialise)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    answers = {}

    def single() -> None:
        answers["single"] = app.test_client().post(
            f"/api/v1/{kind}", json=_single(kind, shared), headers=headers
        )

    def upload() -> None:
        answers["upload"] = _post_registry_file(app, headers, path, content)

    together(upload, single)
    assert answers["single"].status_code == 201, answers["single"].json
    assert answers["upload"].status_code == 201, answers["upload"].json
    assert (answers["upload"].json["accepted"], answers["upload"].json["rejected"]) == (1, 1)
    [error] = answers["upload"].json["errors"]
    assert (error["row"], error["field"], error["message"]) == (2, field, "already registered")
    assert _registry_count(app, kind) == 2


@pytest.mark.parametrize("kind", ["enterprises", "inspectors"])
def test_two_single_creates_of_one_code_at_once_one_is_a_409(committed_app, monkeypatch, kind):
    """Two registrars post the same USCC (or badge) at the same moment: one is stored,
    the other is the documented 409, never a 500."""
    from inspect_core.enterprises import service as enterprises
    from inspect_core.inspectors import service as inspectors
    from tests.concurrency import linger, meet, together

    app, _ = committed_app
    headers = factories.committed_user(app, "boss", "admin")
    shared = factories.uscc() if kind == "enterprises" else factories.inspector()["badge"]
    field = "uscc" if kind == "enterprises" else "badge"
    owner = enterprises if kind == "enterprises" else inspectors
    meet(monkeypatch, owner, "check_region_writable")
    linger(monkeypatch, owner)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    answers = []

    def post() -> None:
        body = _single(kind, shared)
        answers.append(app.test_client().post(f"/api/v1/{kind}", json=body, headers=headers))

    together(post, post)
    assert sorted(a.status_code for a in answers) == [201, 409], [a.json for a in answers]
    [refused] = [a for a in answers if a.status_code == 409]
    assert refused.json["errors"] == {field: ["already registered"]}
    assert _registry_count(app, kind) == 1
