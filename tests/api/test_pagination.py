"""Keyset pagination never repeats or skips a row while rows are inserted between pages."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    initial=st.integers(min_value=0, max_value=25),
    page=st.integers(min_value=1, max_value=7),
    inserts=st.lists(st.integers(min_value=0, max_value=4), min_size=0, max_size=8),
)
def test_pages_cover_every_row_once_despite_inserts(app, identity, initial, page, inserts):
    client = app.test_client()
    admin = identity("admin")
    region = f"测试{initial}-{page}-{len(inserts)}镇"  # isolate each example's rows
    headers = identity("regulator", regions=(region,))

    def add(n: int) -> list[str]:
        made = []
        for _ in range(n):
            body = factories.enterprise(region=region)
            assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
            made.append(body["uscc"])
        return made

    present_at_start = set(add(initial))
    seen: list[str] = []
    cursor = None
    step = 0
    while True:
        query = f"/api/v1/enterprises?limit={page}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(query, headers=headers)
        assert response.status_code == 200, response.json
        seen.extend(item["uscc"] for item in response.json["items"])
        cursor = response.json["next_cursor"]
        if step < len(inserts):
            add(inserts[step])
        step += 1
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a row was repeated"
    assert present_at_start <= set(seen), "a row present from the start was skipped"


def test_cursor_of_another_list_is_refused(client, identity):
    headers = identity("admin")
    for _ in range(3):
        client.post("/api/v1/inspectors", json=factories.inspector(), headers=headers)
    cursor = client.get("/api/v1/inspectors?limit=1", headers=headers).json["next_cursor"]
    assert cursor
    response = client.get(f"/api/v1/enterprises?cursor={cursor}", headers=headers)
    assert response.status_code == 400


#: every list that takes a cursor, the kind its cursors carry, and a well-formed key
_LISTS = [
    ("/api/v1/enterprises", "enterprises:id", [0]),
    ("/api/v1/inspectors", "inspectors:id", [0]),
    ("/api/v1/plans", "plans:id", [2**31 - 1]),
    ("/api/v1/tasks", "tasks:id", [0]),
    ("/api/v1/results", "results:first", [2**31 - 1]),
    ("/api/v1/public/results", "public-results:first", [2**31 - 1]),
    ("/api/v1/scoring/runs", "scoring-runs:id", [2**31 - 1]),
]
#: signed with the right key and kind, so only their values are wrong
_BAD_IDS = [["7"], ["x"], [1.5], [True], [None], [[1]], [{"a": 1}], [], [1, 2], [-1],
            [2**31], [2**63], [-(2**70)], [float("nan")], [float("inf")]]  # fmt: skip


def _signed(app, payload: bytes) -> str:
    """A cursor with a valid MAC around any payload: what only the key's holder can make."""
    import base64
    import hashlib
    import hmac

    from inspect_core.pagination import _key

    with app.test_request_context():
        mac = hmac.new(_key(), payload, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")


def _cursor(app, kind: str, values: list) -> str:
    from inspect_core.pagination import encode_cursor

    with app.test_request_context():
        return encode_cursor(kind, values)


def test_a_signed_cursor_with_values_of_the_wrong_shape_is_a_400_not_a_500(app, identity):
    """A cursor gets through the MAC only if the server made it or the key leaked; its
    values are still checked, so ``int("x")``, an unpacking of two values or an id
    beyond the columns' 32 bits is a 400 naming ``cursor`` rather than a 500 (or a database error)."""
    client = app.test_client()
    admin = identity("admin")
    for url, kind, good in _LISTS:
        ok = client.get(f"{url}?cursor={_cursor(app, kind, good)}", headers=admin)
        assert ok.status_code == 200, (url, ok.json)  # the shape is all that is wrong below
        for values in _BAD_IDS:
            r = client.get(f"{url}?cursor={_cursor(app, kind, values)}", headers=admin)
            assert r.status_code == 400, (url, values, r.status_code, r.json)
            assert "cursor" in r.json["errors"], (url, values, r.json)
        for payload in (b"[1]", b"not json", b"\xff\xfe", b'{"k": "%s"}' % kind.encode()):
            r = client.get(f"{url}?cursor={_signed(app, payload)}", headers=admin)
            assert r.status_code == 400 and "cursor" in r.json["errors"], (url, payload, r.json)


def test_a_signed_ranked_cursor_with_values_of_the_wrong_shape_is_a_400(app, identity):
    from inspect_core.credit.ratings import CURSOR_KIND, _filters_digest

    client = app.test_client()
    regulator = identity("regulator")
    url = "/api/v1/enterprises?order=risk&cursor="
    good = [1, _filters_digest({}), "D", 12.5, 3]  # run 1 has no ratings: an empty page
    ok = client.get(url + _cursor(app, CURSOR_KIND, good), headers=regulator)
    assert ok.status_code == 200 and ok.json["items"] == [], ok.json
    bad = [
        good[:4],
        [*good, 1],
        ["1", *good[1:]],
        [good[0], 5, *good[2:]],
        [*good[:2], None, *good[3:]],
        [*good[:3], "12.5", good[4]],
        [*good[:3], float("nan"), good[4]],
        [*good[:3], float("-inf"), good[4]],
        [*good[:3], True, good[4]],
        [*good[:4], 2**31],
        [-(2**31), *good[1:]],
    ]
    for values in bad:
        r = client.get(url + _cursor(app, CURSOR_KIND, values), headers=regulator)
        assert r.status_code == 400 and "cursor" in r.json["errors"], (values, r.json)
