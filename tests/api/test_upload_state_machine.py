"""A Hypothesis state machine over uploads, retries, corrections and rescoring
(RELIABILITY.md §1.6).

Through the HTTP API, inspectors record single results and a regulator uploads files
with good rows and k bad ones (partial and all-or-nothing, CSV and Excel, now and then a
file refused as a whole); requests are sent again under the same Idempotency-Key with the
same body, with another body and to another endpoint, and files again under a new key;
results are corrected (the current version, or an earlier one: a 409) and attacked with
DELETE, PUT and PATCH; the CLI rescores.  The model holds the records each upload should
have stored, the versions of each, each import's counts and the answer stored under each
key.  After every step: the database holds exactly the model's records; every import
reconciles (received = accepted + rejected) through the database and the API; every
record has its audit event and the chain verifies (and extends the chain seen before);
every key holds the answer the model expects; the risk-ranked list is in the order the
API documents (tier D, C, B, A, then score, then enterprise id) with nothing listed twice
across keyset pages.

Each example runs inside a SAVEPOINT of the test's one connection, begun when the machine
is made and rolled back in ``teardown``: every example starts from the same district,
history, trained model and scoring run, on SQLite and on PostgreSQL alike.

Left out of §1.6's rules: ``pg_terminate_backend`` on the app connection.  These apps run
on the test's one connection inside an outer transaction that is rolled back at the end;
killing its backend ends that transaction, and with it every savepoint, the users, the
history and the trained model, so no later step (nor the rest of the example) could run.
The kill mid-import, and the retry after it, are tested on an app that really commits, in
its own schema (``test_import_faults.py``).
"""

from __future__ import annotations

import hashlib
import io
import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inspect_core.audit.models import AuditEvent
from inspect_core.audit.records import verify_records
from inspect_core.auth.models import User
from inspect_core.credit.models import CreditRating, ScoringRun
from inspect_core.credit.ratings import RISKIEST_FIRST
from inspect_core.db import db
from inspect_core.enterprises.models import Enterprise
from inspect_core.imports.models import Import
from inspect_core.results.models import IdempotencyRecord, Result
from inspect_core.results.service import today_in_china
from tests.api.test_imports import FOOD_HEADER, csv_bytes

pytestmark = pytest.mark.db

#: Idempotency-Keys and sample numbers, unique across examples: a file identical to one
#: imported before is refused as a duplicate whatever its key
_serial = itertools.count(1)

#: sample values with the conclusion that agrees with the food plugin's judgement of
#: rice Cd (limit 0.2 mg/kg)
GOOD = {"pass": ("0.1", "no_problem"), "low": ("0.05", "no_problem"), "over": ("0.25", "corrected")}
#: rows the importer must refuse, each for one reason
BAD = ("negative_value", "not_a_task", "unknown_task", "verdict_contradicted")
REASON = "实验室复核后更正检测值"


def payload(sample: str, value: str, day: str) -> dict[str, Any]:
    return {
        "sample_no": sample,
        "food_name": "大米",
        "food_category": "cereal.rice.milled",
        "batch": "20261101",
        "sampling_date": day,
        "stage": "circulation",
        "items": [{"item": "Cd", "value": value, "unit": "mg/kg"}],
    }


def fresh_key() -> str:
    return f"sm-{next(_serial)}"


@dataclass
class Version:
    value: str
    conclusion: str
    id: int | None = None  # a bulk row's id, looked up when first needed


@dataclass
class Record:
    """A result chain the model expects, oldest version first."""

    sample: str
    task_id: int
    versions: list[Version]


@dataclass
class Upload:
    """What an import should have made of a file."""

    status: str
    received: int
    accepted: int
    rejected: int
    sha256: str
    samples: frozenset[str] = frozenset()


@dataclass
class Request:
    """One write as sent, to be sent again.  ``kind``: single, bulk or correction;
    ``args`` what the rule was given (a correction's target result id included)."""

    kind: str
    who: str
    key: str | None
    args: dict[str, Any]
    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> tuple[Any, ...]:
        """What the server compares to tell a retry from another request."""
        a = self.args
        if self.kind == "bulk":
            return ("bulk", a["content"][0], a["mode"])
        if self.kind == "single":
            return ("single", a["task_id"], a["sample"], a["outcome"])
        return ("correction", a["target"], a["sample"], a["outcome"], a["reason"])


class UploadMachine(RuleBasedStateMachine):
    """See the module docstring.  ``ctx``, from the test's fixtures, is set before a run."""

    ctx: dict[str, Any] = {}

    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self.app, self.client = self.ctx["app"], self.ctx["client"]
        self.conn = self.ctx["connection"]
        self.savepoint = self.conn.begin_nested()
        self.records: dict[str, Record] = {}
        self.uploads: dict[int, Upload] = {}
        self.reported: set[int] = set()  # imports whose report the API was asked for
        #: (user, key) → the request whose answer the key holds
        self.keys: dict[tuple[str, str], Request] = {}
        #: results written through the JSON API, each with an audit event of its own
        self.json_ids: set[int] = set()
        self.head: tuple[int, str] | None = None
        self.ranked_run: int | None = None
        self.stored_since_run = False

    def teardown(self) -> None:
        self.savepoint.rollback()

    @initialize()
    def baselines(self) -> None:
        """Where this example's rows start (the fixtures' rows come before)."""
        self.base_result = self.scalar(select(func.max(Result.id))) or 0
        self.base_import = self.scalar(select(func.max(Import.id))) or 0
        self.base_audit = self.scalar(select(func.max(AuditEvent.id))) or 0
        # the fixtures' run, the same in every example: its list is walked once per test
        self.fixture_run = self.current_run()
        if self.ctx.get("walked") == self.fixture_run:
            self.ranked_run = self.fixture_run

    # --- reading ---------------------------------------------------------------------

    def scalar(self, stmt: Any) -> Any:
        return self.conn.execute(stmt).scalar()

    def current_run(self) -> int | None:
        """The run the ranked list reads by default (``ratings.latest_run``)."""
        return self.scalar(
            select(ScoringRun.id)
            .where(ScoringRun.status == "finished")
            .order_by(ScoringRun.as_of.desc(), ScoringRun.finished_at.desc(), ScoringRun.id.desc())
            .limit(1)
        )

    def headers(self, who: str, key: str | None = None) -> dict[str, str]:
        headers = dict(self.ctx["users"][who])
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def new_rows(self) -> list[Any]:
        return self.conn.execute(
            select(
                Result.id,
                Result.chain,
                Result.version,
                Result.supersedes_id,
                Result.task_id,
                Result.payload,
                Result.conclusion_code,
            )
            .where(Result.id > self.base_result)
            .order_by(Result.id)
        ).all()

    def counts(self) -> tuple[int, int, int, int]:
        return tuple(
            self.scalar(select(func.count()).select_from(table))
            for table in (Result, Import, AuditEvent, IdempotencyRecord)
        )  # type: ignore[return-value]

    def resolve(self, record: Record) -> None:
        """The id of a version a bulk upload stored (its report names no rows)."""
        if record.versions[0].id is None:
            (found,) = [r.id for r in self.new_rows() if r.payload["sample_no"] == record.sample]
            record.versions[0].id = found

    def task(self, index: int) -> dict[str, Any]:
        return self.ctx["tasks"][index]

    def inspector_of(self, task_id: int) -> str:
        (task,) = [t for t in self.ctx["tasks"] if t["id"] == task_id]
        return task["inspectors"][0]

    # --- sending: a request, and what it must do -------------------------------------

    def bulk_file(self, a: dict[str, Any]) -> tuple[bytes, str]:
        today = self.ctx["today"]
        rows: list[list[Any]] = [list(FOOD_HEADER)]
        if a["broken"]:
            rows[0][3] = "色号"  # a column no template has: the file is refused whole
        for kind, task, sample in a["rows"]:
            tid: Any = self.task(task)["id"]
            value, conclusion = GOOD.get(kind, ("0.1", "no_problem"))
            if kind == "negative_value":
                value = "-1"
            elif kind == "not_a_task":
                tid = "abc"
            elif kind == "unknown_task":
                tid = 987_654_321
            elif kind == "verdict_contradicted":
                value = "0.3"  # over the limit, and "no problem found"
            rows.append(
                [
                    tid,
                    conclusion,
                    sample,
                    "大米",
                    "cereal.rice.milled",
                    today,
                    "circulation",
                    "Cd",
                    value,
                    "mg/kg",
                ]
            )
        name = a["rows"][0][2]
        if a["fmt"] == "csv":
            return csv_bytes(rows), f"{name}.csv"
        wb = Workbook()
        for row in rows:
            wb.active.append(row)
        buffer = io.BytesIO()
        wb.save(buffer)  # made once per request: openpyxl stamps the time in the file
        return buffer.getvalue(), f"{name}.xlsx"

    def bulk(self, who: str, key: str | None, rows, mode, fmt, broken) -> Request:
        args = {"rows": rows, "mode": mode, "fmt": fmt, "broken": broken}
        args["content"] = self.bulk_file(args)
        return Request("bulk", who, key, args)

    def single(self, key: str | None, task_id: int, outcome: str, sample: str) -> Request:
        args = {"task_id": task_id, "outcome": outcome, "sample": sample}
        return Request("single", self.inspector_of(task_id), key, args)

    def correction(self, who, key, sample, outcome, stale, reason=REASON) -> Request:
        record = self.records[sample]
        self.resolve(record)
        stale = stale and len(record.versions) > 1
        target = record.versions[0 if stale else -1].id
        args = {"sample": sample, "outcome": outcome, "target": target, "reason": reason}
        return Request("correction", who, key, args)

    def post(self, req: Request) -> Any:
        a = req.args
        headers = self.headers(req.who, req.key)
        if req.kind == "bulk":
            content, filename = a["content"]
            return self.client.post(
                f"/api/v1/results/import?mode={a['mode']}",
                data={"file": (io.BytesIO(content), filename), "sector": "food"},
                headers=headers,
                content_type="multipart/form-data",
            )
        if req.kind == "single":
            value, conclusion = GOOD.get(a["outcome"], ("-1", "no_problem"))
            body = {
                "sector": "food",
                "payload": payload(a["sample"], value, self.ctx["today"]),
                "conclusion_code": conclusion,
            }
            return self.client.post(
                f"/api/v1/tasks/{a['task_id']}/results", json=body, headers=headers
            )
        value, conclusion = GOOD.get(a["outcome"], ("-1", "corrected"))
        body = {
            "sector": "food",
            "payload": payload(a["sample"], value, self.ctx["today"]),
            "conclusion_code": conclusion,
            "reason": a["reason"],
        }
        return self.client.post(
            f"/api/v1/results/{a['target']}/corrections", json=body, headers=headers
        )

    def send(self, req: Request) -> Any:
        """Send ``req``; check its answer against the model and update the model."""
        owner = self.keys.get((req.who, req.key)) if req.key is not None else None
        before = self.counts()
        r = self.post(req)
        assert r.status_code < 500, r.json
        if owner is not None:  # the key holds an answer: replayed, or the key refused
            if owner.fingerprint() == req.fingerprint():
                assert (r.status_code, r.json) == (owner.status, owner.body)
                assert r.headers.get("Idempotent-Replayed") == "true"
            else:
                assert r.status_code == 422, r.json
                assert list(r.json["errors"]) == ["Idempotency-Key"], r.json
            assert self.counts() == before, "a replay or a refused key stored something"
            return r
        assert r.headers.get("Idempotent-Replayed") is None
        stored = {
            "bulk": self.expect_bulk,
            "single": self.expect_single,
            "correction": self.expect_correction,
        }[req.kind](req, r)
        req.status, req.body = r.status_code, r.json
        if stored and req.key is not None:
            self.keys[(req.who, req.key)] = req
        return r

    def expect_single(self, req: Request, r: Any) -> bool:
        a = req.args
        if a["outcome"] not in GOOD:
            assert r.status_code == 422, r.json
            assert any(k.startswith("payload.items") for k in r.json["errors"]), r.json
            return False
        assert r.status_code == 201, r.json
        assert (r.json["version"], r.json["payload"]["sample_no"]) == (1, a["sample"]), r.json
        assert a["sample"] not in self.records
        value, conclusion = GOOD[a["outcome"]]
        self.records[a["sample"]] = Record(
            a["sample"], a["task_id"], [Version(value, conclusion, r.json["id"])]
        )
        self.json_ids.add(r.json["id"])
        self.stored_since_run = True
        return True

    def expect_bulk(self, req: Request, r: Any) -> bool:
        a = req.args
        sha = hashlib.sha256(a["content"][0]).hexdigest()
        if any(
            u.sha256 == sha and u.status == "done" and u.accepted for u in self.uploads.values()
        ):
            assert r.status_code == 409, r.json  # already imported: nothing again, no import
            assert list(r.json["errors"]) == ["file"], r.json
            return False
        if a["broken"]:
            assert r.status_code == 422, r.json
            assert "色号" in r.json["message"], r.json
            # refused as a file: no import id in the answer, but the import is kept
            (import_id,) = set(
                self.conn.execute(select(Import.id).where(Import.id > self.base_import)).scalars()
            ) - set(self.uploads)
            self.uploads[import_id] = Upload("rejected", 0, 0, 0, sha)
            return False
        import_id = r.json["import_id"]
        assert import_id not in self.uploads, r.json
        good = [row for row in a["rows"] if self.row_ok(req.who, *row[:2])]
        bad_rows = {i + 2 for i, row in enumerate(a["rows"]) if not self.row_ok(req.who, *row[:2])}
        received = len(a["rows"])
        assert r.json["received"] == received, r.json
        assert {e["row"] for e in r.json["errors"]} == bad_rows, r.json["errors"]
        if a["mode"] == "all_or_nothing" and bad_rows:
            assert r.status_code == 422, r.json
            assert (r.json["import_status"], r.json["accepted"], r.json["rejected"]) == (
                "rejected",
                0,
                received,
            ), r.json
            self.uploads[import_id] = Upload("rejected", received, 0, received, sha)
            return True
        assert r.status_code == 201, r.json
        assert (r.json["status"], r.json["accepted"], r.json["rejected"]) == (
            "done",
            len(good),
            len(bad_rows),
        ), r.json
        for kind, task, sample in good:
            assert sample not in self.records
            self.records[sample] = Record(sample, self.task(task)["id"], [Version(*GOOD[kind])])
        self.uploads[import_id] = Upload(
            "done", received, len(good), len(bad_rows), sha, frozenset(s for *_, s in good)
        )
        self.stored_since_run |= bool(good)
        return True

    def row_ok(self, who: str, kind: str, task: int) -> bool:
        """A good row, on a task of the uploader's (a regulator's: any task)."""
        return kind in GOOD and (who == "regulator" or who in self.task(task)["inspectors"])

    def expect_correction(self, req: Request, r: Any) -> bool:
        a = req.args
        record = self.records[a["sample"]]
        current = record.versions[-1]
        if a["target"] != current.id:
            assert r.status_code == 409, r.json
            assert r.json["errors"] == {"result": [f"current version is {current.id}"]}, r.json
            return False
        if a["outcome"] not in GOOD:
            assert r.status_code == 422, r.json
            return False
        assert r.status_code == 201, r.json
        assert (r.json["version"], r.json["supersedes_id"]) == (
            len(record.versions) + 1,
            current.id,
        ), r.json
        assert r.json["correction_reason"] == a["reason"]
        record.versions.append(Version(*GOOD[a["outcome"]], r.json["id"]))
        self.json_ids.add(r.json["id"])
        self.stored_since_run = True
        # the earlier versions stay readable: each shows the chain's current version
        for old in record.versions[:-1]:
            shown = self.client.get(f"/api/v1/results/{old.id}", headers=self.headers("regulator"))
            assert shown.status_code == 200, shown.json
            assert shown.json["id"] == r.json["id"]
            assert [v["id"] for v in shown.json["versions"]] == [v.id for v in record.versions]
        return True

    # --- rules -----------------------------------------------------------------------

    @rule(target=requests, task=st.integers(0, 5), outcome=st.sampled_from([*GOOD, "invalid"]))
    def upload_single(self, task: int, outcome: str) -> Request:
        """An assigned inspector records one result under a fresh key (an invalid one is
        a 422 and stores nothing, not even the answer)."""
        req = self.single(fresh_key(), self.task(task)["id"], outcome, f"J{next(_serial)}")
        self.send(req)
        return req

    @rule(
        target=requests,
        rows=st.lists(
            st.tuples(st.sampled_from([*GOOD] * 3 + list(BAD)), st.integers(0, 5)),
            min_size=1,
            max_size=6,
        ),
        mode=st.sampled_from(["partial", "all_or_nothing"]),
        fmt=st.sampled_from(["csv", "xlsx"]),
        broken=st.sampled_from([False, False, False, True]),
        by_regulator=st.booleans(),
    )
    def upload_bulk(self, rows, mode, fmt, broken, by_regulator) -> Request:
        """A regulator (any task) or an inspector (their own tasks: a row of another's is
        bad) uploads a file of good rows and k bad ones, in any order, under a fresh key,
        partial or all-or-nothing (now and then a file refused whole: an unknown column)."""
        n = next(_serial)
        rows = [(kind, task, f"B{n}-{i}") for i, (kind, task) in enumerate(rows)]
        who = "regulator" if by_regulator else self.task(0)["inspectors"][0]
        req = self.bulk(who, fresh_key(), rows, mode, fmt, broken)
        self.send(req)
        return req

    @precondition(lambda self: self.records)
    @rule(
        target=requests,
        data=st.data(),
        outcome=st.sampled_from([*GOOD, "invalid"]),
        stale=st.booleans(),
        by_regulator=st.booleans(),
        keyed=st.booleans(),
    )
    def correct_record(self, data, outcome, stale, by_regulator, keyed) -> Request:
        """A regulator or the task's inspector corrects a result: a new version superseding
        the current one.  Aimed at an earlier version: a 409; invalid: a 422."""
        sample = data.draw(st.sampled_from(sorted(self.records)), label="record")
        who = "regulator" if by_regulator else self.inspector_of(self.records[sample].task_id)
        req = self.correction(who, fresh_key() if keyed else None, sample, outcome, stale)
        self.send(req)
        return req

    @rule(req=requests)
    def retry_same_key(self, req: Request) -> None:
        """The same request again (same key, same body): the first answer replayed and
        nothing stored; when no answer was stored (a refusal), it runs again.  A
        correction sent without a key runs again too, and finds its target superseded
        (by itself): a 409, not a second version."""
        self.send(req)

    @rule(req=requests, how=st.sampled_from(["body", "file"]))
    def retry_other_body(self, req: Request, how: str) -> None:
        """The same key with another body (another sample, mode, reason or file): a 422
        naming the key if it holds an answer; else the key is free and the request runs."""
        a = req.args
        n = next(_serial)
        if req.kind == "single":
            other = self.single(req.key, a["task_id"], "pass", f"J{n}")
        elif req.kind == "bulk" and how == "body":
            mode = "partial" if a["mode"] == "all_or_nothing" else "all_or_nothing"
            other = Request("bulk", req.who, req.key, {**a, "mode": mode})
        elif req.kind == "bulk":  # the file fixed: the bad rows dropped, a new sample
            rows = [(k, t, f"B{n}-{i}") for i, (k, t, _) in enumerate(a["rows"]) if k in GOOD]
            other = self.bulk(
                req.who,
                req.key,
                rows or [("pass", 0, f"B{n}-0")],
                a["mode"],
                a["fmt"],
                broken=False,
            )
        else:
            other = Request("correction", req.who, req.key, {**a, "reason": REASON + "（再次）"})
        self.send(other)

    @rule(req=requests, data=st.data(), to=st.sampled_from(["endpoint", "user"]))
    def reuse_key_elsewhere(self, req: Request, data, to: str) -> None:
        """A key sent to the other endpoint by its user (a regulator's upload key with a
        correction, a correction's with an upload): refused if the key holds an answer.
        Sent by another user (an inspector's result): a key of its own, the request runs."""
        if req.key is None:
            return
        if to == "user":
            others = [t for t in self.ctx["tasks"] if t["inspectors"][0] != req.who]
            if not others:
                return
            task = data.draw(st.sampled_from(others), label="task")
            self.send(self.single(req.key, task["id"], "pass", f"J{next(_serial)}"))
        elif req.who == "regulator" and req.kind == "bulk" and self.records:
            sample = data.draw(st.sampled_from(sorted(self.records)), label="record")
            self.send(self.correction("regulator", req.key, sample, "pass", stale=False))
        elif req.who == "regulator" and req.kind == "correction":
            rows = [("pass", 0, f"B{next(_serial)}-0")]
            self.send(self.bulk("regulator", req.key, rows, "partial", "csv", broken=False))

    @rule(req=requests, mode=st.sampled_from(["partial", "all_or_nothing"]))
    def resend_file_new_key(self, req: Request, mode: str) -> None:
        """The same file under a new key: refused as a duplicate once an import of it
        stored rows; else read again."""
        if req.kind != "bulk":
            return
        self.send(Request("bulk", req.who, fresh_key(), {**req.args, "mode": mode}))

    @precondition(lambda self: self.records)
    @rule(
        data=st.data(),
        method=st.sampled_from(["DELETE", "PUT", "PATCH"]),
        who=st.sampled_from(["regulator", "admin", "inspector"]),
        oldest=st.booleans(),
    )
    def attempt_delete(self, data, method, who, oldest) -> None:
        """Results are never changed or removed through the API: 405, nothing changes."""
        record = self.records[data.draw(st.sampled_from(sorted(self.records)), label="record")]
        self.resolve(record)
        target = record.versions[0 if oldest else -1].id
        headers = self.headers(self.inspector_of(record.task_id) if who == "inspector" else who)
        before = self.counts()
        body = None if method == "DELETE" else {"conclusion_code": "follow_up", "reason": REASON}
        r = self.client.open(f"/api/v1/results/{target}", method=method, json=body, headers=headers)
        assert r.status_code == 405, (method, r.status_code, r.json)
        assert r.json["code"] == 405 and r.json["message_zh"], r.json
        assert method not in r.headers.get("Allow", ""), r.headers
        assert self.counts() == before

    @precondition(lambda self: self.stored_since_run)
    @rule()
    def rescore(self) -> None:
        """A scoring run through the CLI, as operators start it (once something new is
        stored: a run over the same records adds nothing to check)."""
        result = self.app.test_cli_runner().invoke(args=["score", "run", "--quiet"])
        assert result.exit_code == 0, result.output
        self.stored_since_run = False

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def database_matches_model(self) -> None:
        """Every record the model expects, each version as sent, and nothing else."""
        chains: dict[str, list[Any]] = {}
        for row in self.new_rows():
            chains.setdefault(row.chain, []).append(row)
        stored: dict[str, list[Any]] = {}
        for versions in chains.values():
            sample = versions[0].payload["sample_no"]
            assert sample not in stored, f"{sample} stored twice"
            stored[sample] = sorted(versions, key=lambda r: r.version)
        assert set(stored) == set(self.records)
        for sample, rows in stored.items():
            record = self.records[sample]
            got = [
                (
                    r.version,
                    r.task_id,
                    r.payload["sample_no"],
                    r.payload["items"][0]["value"],
                    r.conclusion_code,
                )
                for r in rows
            ]
            want = [
                (i, record.task_id, sample, v.value, v.conclusion)
                for i, v in enumerate(record.versions, 1)
            ]
            assert got == want, sample
            assert [r.supersedes_id for r in rows] == [None] + [r.id for r in rows[:-1]]
            for r, v in zip(rows, record.versions, strict=True):
                assert v.id in (None, r.id), sample

    @invariant()
    def imports_reconcile(self) -> None:
        """received = accepted + rejected for each import, in the database and its report;
        the counts the model expects; the accepted rows stored."""
        stored = {
            u.id: u
            for u in self.conn.execute(
                select(
                    Import.id, Import.status, Import.received, Import.accepted, Import.rejected
                ).where(Import.id > self.base_import)
            )
        }
        assert set(stored) == set(self.uploads), "an import the model does not know of"
        firsts = {r.payload["sample_no"] for r in self.new_rows() if r.version == 1}
        for import_id, want in self.uploads.items():
            u = stored[import_id]
            assert u.received == u.accepted + u.rejected, import_id
            assert (u.status, u.received, u.accepted, u.rejected) == (
                want.status,
                want.received,
                want.accepted,
                want.rejected,
            ), import_id
            assert want.samples <= firsts, import_id
            if import_id in self.reported:
                continue  # a finished import does not change: its report is read once
            report = self.client.get(f"/api/v1/imports/{import_id}", headers=self.headers("admin"))
            assert report.status_code == 200, report.json
            counts = [report.json[k] for k in ("status", "received", "accepted", "rejected")]
            assert counts == [u.status, u.received, u.accepted, u.rejected], import_id
            self.reported.add(import_id)

    @invariant()
    def keys_hold_their_first_answers(self) -> None:
        """An answer is stored under a key when the request ran to its end, and only then."""
        rows = self.conn.execute(
            select(User.username, IdempotencyRecord.key, IdempotencyRecord.status_code)
            .join(User, User.id == IdempotencyRecord.user_id)
            .where(IdempotencyRecord.key.like("sm-%"))
        ).all()
        who = {name: w for w, name in self.ctx["usernames"].items()}
        stored = {(who[name], key): status for name, key, status in rows}
        assert stored == {k: req.status for k, req in self.keys.items()}

    @invariant()
    def every_record_audited_and_chain_verifies(self) -> None:
        """One event per version written through the JSON API; per import, one on receipt
        and one with its counts (a bulk row's audit); the chain verifies and extends the
        chain seen before."""
        events = self.conn.execute(
            select(AuditEvent.id, AuditEvent.action, AuditEvent.entity_id, AuditEvent.data)
            .where(AuditEvent.id > self.base_audit)
            .order_by(AuditEvent.id)
        ).all()
        by_result: dict[int, list[Any]] = {}
        by_import: dict[int, list[Any]] = {}
        for e in events:
            if e.action in ("result.record", "result.correct"):
                by_result.setdefault(int(e.entity_id), []).append(e)
            elif e.action.startswith("import."):
                by_import.setdefault(int(e.entity_id), []).append(e)
        rows = self.new_rows()
        assert set(by_result) == {r.id for r in rows if r.id in self.json_ids}
        for r in rows:
            if r.id in self.json_ids:
                (event,) = by_result[r.id]
                assert event.action == ("result.record" if r.version == 1 else "result.correct")
                assert (event.data["chain"], event.data["version"], event.data["conclusion"]) == (
                    r.chain,
                    r.version,
                    r.conclusion_code,
                )
        assert set(by_import) == set(self.uploads)
        for import_id, want in self.uploads.items():
            got = by_import[import_id]
            if want.received == 0:  # refused as a file
                assert [e.action for e in got] == ["import.receive"], import_id
                continue
            assert [e.action for e in got] == ["import.receive", "import.results"], import_id
            assert got[1].data["accepted"] == want.accepted, import_id
        bulk_rows = [r for r in rows if r.version == 1 and r.id not in self.json_ids]
        assert len(bulk_rows) == sum(u.accepted for u in self.uploads.values())
        report = self.client.get("/api/v1/audit/verify", headers=self.headers("regulator"))
        assert report.status_code == 200 and report.json["ok"] is True, report.json
        # and every stored row matches the digest its event holds (audit verify --records)
        with Session(bind=self.conn, join_transaction_mode="create_savepoint") as session:
            rows_report = verify_records(session)
        assert rows_report.ok and rows_report.verified == rows_report.rows, rows_report.problems
        head = self.conn.execute(
            select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        ).one()
        assert (report.json["events"], report.json["head"]) == (head.id, head.hash)
        if self.head is not None:  # the chain seen before is a prefix of this one
            assert (
                self.scalar(select(AuditEvent.hash).where(AuditEvent.id == self.head[0]))
                == (self.head[1])
            )
        self.head = (head.id, head.hash)

    @invariant()
    def ranked_list_in_order_once(self) -> None:
        """Walked in pages of 7 whenever a run becomes current (a run's list never changes):
        every rated enterprise once, tier D, C, B, A, then score, then enterprise id."""
        run = self.current_run()
        if run == self.ranked_run:
            return
        ids = dict(self.conn.execute(select(Enterprise.uscc, Enterprise.id)).all())
        rated = set(
            self.conn.execute(
                select(Enterprise.uscc)
                .join(CreditRating, CreditRating.enterprise_id == Enterprise.id)
                .where(CreditRating.run_id == run)
            ).scalars()
        )
        keys: list[tuple[int, float, int]] = []
        usccs: list[str] = []
        cursor = None
        while True:
            url = "/api/v1/enterprises?order=risk&limit=7" + (f"&cursor={cursor}" if cursor else "")
            page = self.client.get(url, headers=self.headers("regulator"))
            assert page.status_code == 200, page.json
            for item in page.json["items"]:
                assert item["run_id"] == run
                usccs.append(item["uscc"])
                keys.append((RISKIEST_FIRST.index(item["tier"]), item["score"], ids[item["uscc"]]))
            cursor = page.json["next_cursor"]
            if not cursor:
                break
        assert len(usccs) == len(set(usccs)), "an enterprise listed twice across pages"
        assert set(usccs) == rated
        assert keys == sorted(keys), "not in (tier, score, id) order"
        self.ranked_run = run
        if run == self.fixture_run:
            self.ctx["walked"] = run


@pytest.fixture
def machine_ctx(app, client, identity, scored):
    """The ``scored`` district (a drawn plan, two years of history, a trained model and a
    run), six of its tasks, a regulator, an admin and the tasks' first inspectors."""
    admin = scored["admin"]
    tasks = client.get(f"/api/v1/tasks?plan={scored['plan']}&limit=6", headers=admin).json
    users = {"regulator": identity("regulator"), "admin": admin}
    for task in tasks["items"]:
        badge = task["inspectors"][0]
        if badge not in users:
            users[badge] = identity("inspector", badge=badge)
    usernames = {
        who: client.get("/api/v1/auth/me", headers=headers).json["username"]
        for who, headers in users.items()
    }
    return {
        "app": app,
        "client": client,
        "connection": db._state(app)["bind"],
        "tasks": tasks["items"],
        "users": users,
        "usernames": usernames,
        # one sampling day for the whole test: a retry after midnight (China time) must
        # still send the same body
        "today": today_in_china().isoformat(),
    }


#: a quarter of the profile's examples ("ci": 60 → 15, "dev": 30 → 7), each of up to 30
#: steps: a step is a few requests and every invariant (about 1 s an example on SQLite)
MACHINE_SETTINGS = settings(
    max_examples=max(3, settings.default.max_examples // 4), stateful_step_count=30
)


def test_uploads_retries_corrections_and_rescoring(machine_ctx):
    UploadMachine.ctx = machine_ctx
    try:
        run_state_machine_as_test(UploadMachine, settings=MACHINE_SETTINGS)
    finally:
        UploadMachine.ctx = {}
