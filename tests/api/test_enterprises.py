"""Enterprise registry: create, read, patch, filters, and every kind of bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from inspect_core.enterprises.models import Enterprise
from tests import factories


@pytest.fixture
def regulator(identity):
    return identity("regulator")


def count_enterprises(session) -> int:
    return session.scalar(select(func.count()).select_from(Enterprise))


def test_create_read_patch_round_trip(client, regulator):
    body = factories.enterprise(sectors=["food", "special_equipment"])
    created = client.post("/api/v1/enterprises", json=body, headers=regulator)
    assert created.status_code == 201, created.json
    assert created.headers["Location"].endswith(f"/api/v1/enterprises/{body['uscc']}")
    assert created.json["sectors"] == ["food", "special_equipment"]

    got = client.get(f"/api/v1/enterprises/{body['uscc']}", headers=regulator)
    assert got.status_code == 200
    assert got.json["name"] == body["name"]

    patched = client.patch(
        f"/api/v1/enterprises/{body['uscc']}",
        json={"status": "suspended", "sectors": ["food"]},
        headers=regulator,
    )
    assert patched.status_code == 200, patched.json
    assert patched.json["status"] == "suspended"
    assert patched.json["sectors"] == ["food"]


def test_a_licence_with_an_expiry_reads_back(client, regulator):
    """A licence's expiry is stored as ISO text in the JSON column; the Date field that
    dumps it took only dates, so the create answered a 500 after committing the row, and
    every read and patch of the enterprise, the list included, was a 500 from then on."""
    licence = {"kind": "食品经营许可证", "number": "JY15001070001234", "expires_on": "2027-01-01"}
    body = factories.enterprise(licences=[licence])
    created = client.post("/api/v1/enterprises", json=body, headers=regulator)
    assert created.status_code == 201, created.json
    assert created.json["licences"] == [licence]
    url = f"/api/v1/enterprises/{body['uscc']}"
    assert client.get(url, headers=regulator).json["licences"] == [licence]
    listed = client.get(f"/api/v1/enterprises?q={body['uscc']}", headers=regulator)
    assert listed.json["items"][0]["licences"] == [licence]
    renewed = {**licence, "expires_on": "2032-01-01"}
    patched = client.patch(url, json={"licences": [renewed, {**licence, "number": "JY2"}]},
                           headers=regulator)  # fmt: skip
    assert patched.status_code == 200, patched.json
    assert patched.json["licences"] == [renewed, {**licence, "number": "JY2"}]


def test_uscc_is_normalised_full_width_and_lower_case(client, regulator):
    code = factories.uscc()
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code.lower())
    response = client.post(
        "/api/v1/enterprises", json=factories.enterprise(uscc=full_width), headers=regulator
    )
    assert response.status_code == 201, response.json
    assert response.json["uscc"] == code


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"uscc": "91110000600037341M"}, "uscc", "check character"),
        ({"uscc": "9111000060003734"}, "uscc", "18 characters"),
        ({"uscc": "91110000600O37341L"}, "uscc", "invalid USCC"),
        ({"sectors": ["fireworks"]}, "sectors", "unknown sector"),
        ({"sectors": []}, "sectors", "at least one"),
        ({"name": 42}, "name", "Not a valid string"),
        ({"name": "   "}, "name", "blank"),
        ({"status": "zombie"}, "status", "Must be one of"),
        ({"established_on": "2026-13-40"}, "established_on", "date"),
        ({"established_on": "0202-05-01"}, "established_on", "before 1900-01-01"),
        ({"established_on": "2999-01-01"}, "established_on", "after today"),
        ({"risk_score": 1}, "risk_score", "Unknown field"),
        ({"name": "x" * 201}, "name", "Longer than maximum"),
    ],
)
def test_bad_fields_get_422_naming_the_field_and_store_nothing(
    client, regulator, session, change, field, fragment
):
    before = count_enterprises(session)
    response = client.post(
        "/api/v1/enterprises", json=factories.enterprise(**change), headers=regulator
    )
    assert response.status_code == 422, response.json
    assert response.json["code"] == 422
    assert field in response.json["errors"], response.json
    assert fragment.lower() in " ".join(map(str, response.json["errors"][field])).lower()
    assert count_enterprises(session) == before


def test_an_establishment_date_out_of_range_is_refused_on_patch_and_in_an_upload(
    client, regulator, session
):
    """A typo such as 0202-05-01 made the enterprise some 1,800 years old to the scoring
    (its age is a feature); a date after today is no establishment yet.  The PATCH and the
    upload name the field; the upload's row is rejected and nothing is stored."""
    from tests.api.test_imports import ENTERPRISE_HEADER, csv_bytes, upload

    body = factories.enterprise(established_on="2015-06-01")
    assert client.post("/api/v1/enterprises", json=body, headers=regulator).status_code == 201
    path = f"/api/v1/enterprises/{body['uscc']}"
    for day, why in (("1899-12-31", "before 1900-01-01"), ("2999-01-01", "after today")):
        patched = client.patch(path, json={"established_on": day}, headers=regulator)
        assert patched.status_code == 422, patched.json
        assert patched.json["errors"]["established_on"][0].startswith(why)
    assert client.get(path, headers=regulator).json["established_on"] == "2015-06-01"
    assert (
        client.patch(path, json={"established_on": "1900-01-01"}, headers=regulator).json[
            "established_on"
        ]
        == "1900-01-01"
    )
    before = count_enterprises(session)
    rows = [
        ENTERPRISE_HEADER,
        [factories.uscc(), "重庆远古有限公司", "food", "华岩镇", "", "", "0202-05-01"],
    ]
    response = upload(client, "/api/v1/enterprises/import", regulator, csv_bytes(rows), "e.csv")
    assert response.status_code == 422, response.json
    assert [(e["row"], e["field"]) for e in response.json["errors"]] == [(2, "established_on")]
    assert "before 1900-01-01" in response.json["errors"][0]["message"]
    assert count_enterprises(session) == before


def test_missing_required_fields_are_each_named(client, regulator):
    response = client.post("/api/v1/enterprises", json={}, headers=regulator)
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"uscc", "name", "sectors", "region"}


def test_duplicate_uscc_is_409(client, regulator, session):
    body = factories.enterprise()
    assert client.post("/api/v1/enterprises", json=body, headers=regulator).status_code == 201
    again = client.post("/api/v1/enterprises", json=body, headers=regulator)
    assert again.status_code == 409
    assert "uscc" in again.json["errors"]
    assert session.scalar(select(func.count()).where(Enterprise.uscc == body["uscc"])) == 1


def test_malformed_json_is_400(client, regulator):
    response = client.post(
        "/api/v1/enterprises",
        data='{"uscc": "9111',
        headers={**regulator, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json["code"] == 400


def test_oversized_body_is_413(app, client, regulator, session):
    before = count_enterprises(session)
    big = factories.enterprise(address="x" * (app.config["MAX_JSON_BYTES"] + 10))
    response = client.post("/api/v1/enterprises", json=big, headers=regulator)
    assert response.status_code == 413
    assert "body" in response.json["errors"]
    assert count_enterprises(session) == before


def test_patch_cannot_change_the_uscc(client, regulator):
    body = factories.enterprise()
    client.post("/api/v1/enterprises", json=body, headers=regulator)
    response = client.patch(
        f"/api/v1/enterprises/{body['uscc']}", json={"uscc": factories.uscc()}, headers=regulator
    )
    assert response.status_code == 422
    assert "uscc" in response.json["errors"]


def test_filters_sector_region_and_q(client, regulator):
    food = factories.enterprise(name="重庆甲乙食品有限公司", region="华岩镇", sectors=["food"])
    drugs = factories.enterprise(name="重庆丙丁大药房", region="华岩镇", sectors=["drugs"])
    other = factories.enterprise(name="重庆戊己建材有限公司", region="走马镇", sectors=["food"])
    for body in (food, drugs, other):
        assert client.post("/api/v1/enterprises", json=body, headers=regulator).status_code == 201

    def usccs(query: str) -> set[str]:
        response = client.get(f"/api/v1/enterprises?{query}", headers=regulator)
        assert response.status_code == 200, response.json
        return {item["uscc"] for item in response.json["items"]}

    assert usccs("region=华岩镇&sector=food") == {food["uscc"]}
    assert usccs("q=大药房") == {drugs["uscc"]}
    assert usccs(f"q={other['uscc'][:12]}") == {other["uscc"]}
    assert usccs("q=100%25") == set()  # a literal '%' is not a wildcard


def test_unknown_cursor_is_400(client, regulator):
    response = client.get("/api/v1/enterprises?cursor=not-a-cursor", headers=regulator)
    assert response.status_code == 400
    assert "cursor" in response.json["errors"]


def test_limit_is_clamped(app, client, regulator):
    response = client.get("/api/v1/enterprises?limit=1000000", headers=regulator)
    assert response.status_code == 200
    assert len(response.json["items"]) <= app.config["PAGE_SIZE_MAX"]
    assert client.get("/api/v1/enterprises?limit=0", headers=regulator).status_code == 422
