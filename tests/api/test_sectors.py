"""The sector catalogue through the API: schemas, checklists, upload templates."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

SECTORS = ("food", "drugs", "special_equipment", "construction")


def test_sectors_list_the_four_plugins_with_schemas(client, identity):
    headers = identity("sector_admin")
    response = client.get("/api/v1/sectors", headers=headers)
    assert response.status_code == 200
    by_code = {s["code"]: s for s in response.json["items"]}
    for code in SECTORS:
        sector = by_code[code]
        assert sector["plugin"] == code
        assert sector["version"]
        assert sector["name_zh"] and sector["name_en"]
        schema = sector["payload_schema"]
        root = schema["$ref"].split("/")[-1]
        assert schema["$defs"][root]["type"] == "object"
        assert schema["$defs"][root]["properties"]
        assert sector["checklist"] and any(item["key"] for item in sector["checklist"])
    assert by_code["special_equipment"]["qualification"] == "special_equipment"
    # a catalogue sector without a plugin is judged by the generic checklist schema
    generic = by_code["hazardous_chemicals"]
    assert generic["plugin"] is None
    assert (
        "checks" in generic["payload_schema"]["$defs"]["hazardous_chemicals_payload"]["properties"]
    )


def test_one_sector_and_unknown_sector(client, identity):
    headers = identity("regulator")
    food = client.get("/api/v1/sectors/food", headers=headers)
    assert food.status_code == 200
    defs = food.json["payload_schema"]["$defs"]
    assert any("items" in d.get("properties", {}) for d in defs.values())
    unknown = client.get("/api/v1/sectors/fireworks", headers=headers)
    assert unknown.status_code == 404
    assert "code" in unknown.json["errors"]


@pytest.mark.parametrize("code", SECTORS)
def test_template_xlsx_has_zh_headers_and_an_example_row(client, identity, code):
    headers = identity("regulator")
    response = client.get(f"/api/v1/sectors/{code}/template.xlsx", headers=headers)
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(response.data))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["任务编号", "检查日期", "检查结论"]
    assert all(h and any("\u4e00" <= ch <= "\u9fff" for ch in h) for h in header), header
    example = [c.value for c in ws[2]]
    assert any(v not in (None, "") for v in example[4:])
    names = [row[1].value for row in wb.worksheets[1].iter_rows(min_row=2) if row[1].value]
    assert names[:3] == ["task_id", "inspected_on", "conclusion_code"]
    columns = client.get(f"/api/v1/sectors/{code}", headers=headers).json["template_columns"]
    assert [c["name"] for c in columns] == names[: len(columns)]
