"""Error bodies give every field-level reason in zh-CN beside the English (``errors_zh``)."""

from __future__ import annotations

from tests import factories


def test_a_schema_422_names_each_field_in_both_languages(client, identity):
    admin = identity("admin")
    body = factories.enterprise(
        uscc="91110000600037341M", established_on="2020-02-30", colour="red"
    )
    del body["name"]
    response = client.post("/api/v1/enterprises", json=body, headers=admin)
    assert response.status_code == 422
    errors, errors_zh = response.json["errors"], response.json["errors_zh"]
    assert set(errors_zh) == set(errors) == {"uscc", "established_on", "colour", "name"}
    assert errors_zh["uscc"] == ["统一社会信用代码无效：校验码为“M”，应为“L”"]
    assert errors_zh["established_on"] == ["不是有效的日期"]
    assert errors_zh["colour"] == ["未知字段"]
    assert errors_zh["name"] == ["缺少必填字段"]


def test_a_nested_reason_keeps_its_place(client, identity):
    admin = identity("admin")
    items = [{"code": "F-1", "name_zh": "重金属", "name_en": "Metals", "key": "perhaps"}]
    body = factories.plan_body(ratios={"A": "lots", "B": "0.5", "C": "0.6", "D": "1"})
    response = client.post("/api/v1/plans", json={**body, "check_items": items}, headers=admin)
    assert response.status_code == 422
    errors, errors_zh = response.json["errors"], response.json["errors_zh"]
    assert errors["ratios"]["A"] == ["Not a valid number."]
    assert errors_zh["ratios"]["A"] == ["不是有效的数字"]
    assert errors["check_items"]["0"]["key"] == ["Not a valid boolean."]
    assert errors_zh["check_items"]["0"]["key"] == ["不是有效的布尔值"]


def test_a_query_reason_and_a_reason_with_values(client, identity):
    regulator = identity("regulator")
    response = client.get("/api/v1/enterprises?order=risk&teir=D", headers=regulator)
    assert response.status_code == 422
    assert response.json["errors_zh"]["teir"][0].startswith("未知参数；此操作接受：")
    assert response.json["errors_zh"]["teir"][0].endswith(
        response.json["errors"]["teir"][0].split(": ", 1)[1]
    )


def test_an_error_without_field_reasons_has_no_errors_zh(client, identity):
    response = client.get(
        "/api/v1/enterprises/91110000600037341L/credit", headers=identity("regulator")
    )
    assert response.status_code == 404
    assert response.json["errors"] == {} and "errors_zh" not in response.json
    assert response.json["message_zh"]


def test_a_body_past_the_upload_limit_names_it_in_both_languages(app_factory, identity):
    """werkzeug's 413 (MAX_CONTENT_LENGTH) gives its own reason: it had no zh-CN entry."""
    import io

    client = app_factory(MAX_CONTENT_LENGTH=100).test_client()
    response = client.post(
        "/api/v1/enterprises/import",
        data={"file": (io.BytesIO(b"x" * 500), "a.csv")},
        headers=identity("admin"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert response.json["errors_zh"] == {"body": ["请求体过大（上限 100 字节）"]}


def test_an_unknown_field_named_message_zh_hides_no_reason(client, identity):
    body = factories.enterprise(established_on="2020-02-30")
    body["message_zh"] = "x"
    response = client.post("/api/v1/enterprises", json=body, headers=identity("admin"))
    assert response.status_code == 422
    assert response.json["errors_zh"] == {
        "established_on": ["不是有效的日期"],
        "message_zh": ["未知字段"],
    }
