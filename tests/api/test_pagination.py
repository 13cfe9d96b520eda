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
