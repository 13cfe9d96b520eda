"""Credit events (``/api/v1/enterprises/{uscc}/credit-events``) and repair."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any

from flask import Response, current_app, stream_with_context, url_for
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from inspect_core import workbook
from inspect_core.auth.access import current_user, require
from inspect_core.blueprint import Blueprint
from inspect_core.credit import ratings, service
from inspect_core.credit.schemas import (
    CreditEventInSchema,
    CreditEventListSchema,
    CreditEventOneSchema,
    CreditEventSchema,
    CreditSchema,
    RankedArgsSchema,
    RepairInSchema,
    WithdrawalInSchema,
    WithdrawalSchema,
)
from inspect_core.db import db
from inspect_core.errors import NotFound
from inspect_core.pagination import PageArgsSchema, page_schema
from inspect_core.ratelimit import EXPORT, RANKING, rate_limited
from inspect_core.responses import xlsx_response
from inspect_core.validators import RowId
from inspect_core.workbook import CSV_RESPONSE, XLSX_ALSO, csv_lines

blp = Blueprint("credit", __name__, url_prefix="/api/v1", description="Credit events and ratings")


@blp.route("/enterprises/<uscc:uscc>/credit-events")
class CreditEventsView(MethodView):
    @require("credit:read")
    @blp.response(200, CreditEventListSchema)
    def get(self, uscc: str) -> dict[str, Any]:
        """Penalties, list entries, complaints, recalls, incidents, certifications, awards."""
        return {"items": service.list_events(db.session, current_user(), uscc)}

    @require("credit:write")
    @blp.arguments(CreditEventInSchema)
    @blp.response(201, CreditEventSchema)
    def post(self, data: dict[str, Any], uscc: str) -> Any:
        """Record a credit event; its effect ends at ``expires_on`` (default by type)."""
        event = service.add_event(db.session, current_user(), uscc, data)
        return event, 201, _located(event["id"])


def _located(event_id: int) -> dict[str, str]:
    """``Location`` of a credit event (RELIABILITY.md §1.5: every 201 names one)."""
    return {"Location": url_for("credit.CreditEventView", event_id=event_id)}


@blp.route("/credit-events/<int:event_id>")
class CreditEventView(MethodView):
    @require("credit:read")
    @blp.response(200, CreditEventOneSchema)
    def get(self, event_id: int) -> dict[str, Any]:
        """One credit event, with its repair or withdrawal and its enterprise's ``uscc``."""
        return service.get_event(db.session, current_user(), event_id)


@blp.route("/credit-events/<int:event_id>/repair")
class RepairView(MethodView):
    @require("credit:write")
    @blp.arguments(RepairInSchema)
    @blp.response(201, CreditEventSchema)
    def post(self, data: dict[str, Any], event_id: int) -> Any:
        """信用修复: end an event's effect early, with the reason recorded."""
        return service.repair(db.session, current_user(), event_id, data), 201, _located(event_id)


@blp.route("/credit-events/<int:event_id>/withdrawal")
class WithdrawalView(MethodView):
    @require("credit:write")
    @blp.arguments(WithdrawalInSchema)
    @blp.response(201, WithdrawalSchema)
    def post(self, data: dict[str, Any], event_id: int) -> dict[str, Any]:
        """更正/撤销: withdraw an event recorded in error or annulled, with the reason recorded.

        With ``replacement``, the corrected event is recorded in its place in the same
        transaction.  The withdrawn event stays in the history and never counts, as of any
        day; the next scoring run reads the record without it."""
        body = service.withdraw(db.session, current_user(), event_id, data)
        return body, 201, _located(event_id)


@blp.route("/enterprises/<uscc:uscc>/credit")
class CreditView(MethodView):
    @require("credit:read")
    @rate_limited(RANKING)
    @blp.response(200, CreditSchema)
    def get(self, uscc: str) -> dict[str, Any]:
        """Current rating with reasons, rating history across runs, and credit events."""
        return ratings.credit_page(db.session, current_user(), uscc)


class ExportArgsSchema(RankedArgsSchema):
    """The ranked list's filters: the export is the whole list, so it takes no page
    (``limit``, ``cursor`` were taken and ignored)."""

    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))

    class Meta:
        exclude = ("limit", "cursor")


@blp.route("/rankings/export")
class RankingsExportView(MethodView):
    @require("rankings:read")
    @rate_limited(EXPORT)
    @blp.arguments(ExportArgsSchema, location="query")
    @blp.response(200, **CSV_RESPONSE)
    @blp.alt_response(200, **XLSX_ALSO)
    def get(self, args: dict[str, Any]) -> Response:
        """The whole risk-ranked list of one run (same filters) as CSV or Excel.

        The CSV streams page by page (a district's million rows are never held whole);
        the run and the filters are checked on the first page, before anything is sent,
        so a bad request is still a 4xx, not a cut-off file.  The Excel file is written
        page by page into a temporary file and sent once whole; a list longer than a
        sheet holds (1,048,575 rows below the header) is a 422 naming ``format``."""
        user = current_user()
        first = ratings.export_page(db.session, user, args, None, 0)
        if args["format"] == "xlsx":
            return _xlsx_export(user, args, first)

        def body() -> Iterator[bytes]:
            # streaming runs after the view's session was closed: ``db.session`` here is
            # the stream's own, which the end of the stream closes
            yield "\ufeff".encode() + csv_lines([ratings.EXPORT_HEADERS])
            for rows in ratings.export_pages(db.session, user, args, first):
                yield csv_lines(rows)

        return Response(
            stream_with_context(body()),
            mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=risk-ranking.csv"},
        )


def _xlsx_export(
    user: Any, args: dict[str, Any], first: tuple[list[list[Any]], str | None]
) -> Response:
    """The ranked list as one sheet, written page by page (:func:`xlsx_response`): a
    district's million rows are never held as Python rows.  A list longer than a sheet
    is refused by one count, before any row is read past the first page."""
    cursor = first[1]
    if cursor and (
        ratings.export_count(db.session, user, args, cursor)
        >= workbook.XLSX_MAX_ROWS  # a sheet holds the header and one row fewer
    ):
        raise workbook.too_many_rows()
    pages = ratings.export_pages(db.session, user, args, first)
    return xlsx_response(
        "风险排序 Ranking", ratings.EXPORT_HEADERS, chain.from_iterable(pages),
        "risk-ranking.xlsx",
    )  # fmt: skip


class InspectorEffectSchema(Schema):
    inspector = fields.String(metadata={"description": "the inspector's badge"})
    name = fields.String(allow_none=True)
    visits = fields.Integer(
        metadata={"description": "judged results of tasks they were on (each member of a "
                                 "team is credited with the team's)"}
    )  # fmt: skip
    found = fields.Integer(metadata={"description": "inspections with a critical or major finding"})
    expected = fields.Float(metadata={"description": "what the enterprises' own risk predicts"})
    strictness = fields.Float(metadata={"description": "shrunk found / expected; 1 = average"})


class InspectorEffectsSchema(Schema):
    model = fields.String()
    regions = fields.List(
        fields.String(),
        allow_none=True,
        metadata={"description": "the regions visits, found and expected count; "
                                 "null: the whole district"},
    )  # fmt: skip
    items = fields.List(fields.Nested(InspectorEffectSchema))


def scoped_effects(items: list[dict[str, Any]], regions: list[str]) -> list[dict[str, Any]]:
    """The inspectors who visited ``regions``, with the visits, findings and expected
    findings there only: what they found elsewhere is another region's record.  Their
    strictness stays the one estimated from all their visits (it is the inspector's, and
    fewer visits would only shrink it more).  A model trained before the counts were
    kept per region shows a scoped user nobody, rather than the whole district."""
    shown = []
    for item in items:
        here = [item.get("regions", {}).get(region) for region in regions]
        here = [counts for counts in here if counts]
        if not here:
            continue
        visits, found, expected = (sum(c[k] for c in here) for k in range(3))
        shown.append({**item, "visits": int(visits), "found": int(found),
                      "expected": round(float(expected), 2)})  # fmt: skip
    return shown


@blp.route("/scoring/inspector-effects")
class InspectorEffectsView(MethodView):
    @require("rankings:read")
    @blp.response(200, InspectorEffectsSchema)
    def get(self) -> dict[str, Any]:
        """How strict each inspector is, net of the risk of the enterprises they were drawn
        for (the latest model's training window).  A user scoped to regions sees the
        inspectors who visited them, with the counts of those visits only."""
        from inspect_core.credit.jobs import latest_model

        model = latest_model(db.session)
        items = (model.metrics or {}).get("inspectors", [])
        regions = current_user().regions
        if regions:
            return {"model": model.version, "regions": list(regions),
                    "items": scoped_effects(items, list(regions))}  # fmt: skip
        return {"model": model.version, "regions": None, "items": items}


class PointsArgsSchema(Schema):
    run = RowId(metadata={"description": "a scoring run id: the model it scored with; "
                                         "default the newest model"})  # fmt: skip


class PointsItemSchema(Schema):
    variable = fields.String()
    bin = fields.String(metadata={"description": "[lo, hi), = code, other or missing"})
    category = fields.String(
        allow_none=True, metadata={"description": "the category of a categorical bin"}
    )
    text_zh = fields.String(
        allow_none=True,
        metadata={"description": "what a reason for a row in it reads; null: no row in it "
                                 "is given this variable as a reason"},
    )  # fmt: skip
    text_en = fields.String(allow_none=True)
    rows = fields.Integer(allow_none=True, metadata={"description": "training rows in it"})
    woe = fields.Float()
    points = fields.Float()
    dropped = fields.Boolean(metadata={"description": "left out by the fit: every bin alike"})
    p_value = fields.Float(
        allow_none=True,
        metadata={"description": "chi-squared test that the variable's bins share one "
                                 "failure rate; above the model's alpha the variable is "
                                 "dropped (null: a model fitted before the test)"},
    )  # fmt: skip
    drop_reason = fields.String(
        allow_none=True,
        metadata={"description": "not_significant | negative_coefficient; null when kept"},
    )
    drop_reason_zh = fields.String(allow_none=True)
    drop_reason_en = fields.String(allow_none=True)


class PointsCardSchema(Schema):
    model = fields.String()
    trained_at = fields.DateTime()
    window_start = fields.Date(allow_none=True)
    window_end = fields.Date(allow_none=True)
    scaling = fields.Dict(keys=fields.String(), values=fields.Float())
    best_score = fields.Float(metadata={"description": "the sum of every variable's best bin"})
    rows = fields.Integer(allow_none=True)
    positives = fields.Integer(allow_none=True)
    auc_scorecard = fields.Float(allow_none=True)
    auc_ml = fields.Float(allow_none=True)
    net_of_inspector = fields.Boolean(
        metadata={"description": "true: findings count weighed by the strictness of the team "
                                 "that made them (1 / its mean strictness, "
                                 "/scoring/inspector-effects), so the rating is the "
                                 "enterprise's risk net of who happened to visit"},
    )  # fmt: skip
    tier_cutoffs = fields.Dict(
        keys=fields.String(), values=fields.Float(),
        metadata={"description": "minimum scores of A, B and C (below C: D): the run's with "
                                 "?run=, else those the next run would use"},
    )  # fmt: skip
    tier_cutoffs_source = fields.String(
        metadata={"description": "run (stored with it) | configured (TIER_CUTOFFS) | model "
                                 "(set at training from tier_shares) | legacy (620/590/560: "
                                 "a model without cut-offs of its own)"},
    )  # fmt: skip
    tier_shares = fields.Dict(
        keys=fields.String(), values=fields.Float(), allow_none=True,
        metadata={"description": "the shares of A-D the model's cut-offs were set for"},
    )  # fmt: skip
    items = fields.List(fields.Nested(PointsItemSchema))


class ShiftedSchema(Schema):
    variable = fields.String()
    psi = fields.Float()


class ScoringRunSchema(Schema):
    id = fields.Integer()
    as_of = fields.Date()
    status = fields.String()
    current = fields.Boolean(
        metadata={"description": "the run the draw, the ranked list and credit pages use"}
    )
    model_version = fields.String(allow_none=True)
    enterprises = fields.Integer()
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    psi_max = fields.Float(
        allow_none=True,
        metadata={"description": "the largest PSI of the score and the features against "
                                 "the training population"},
    )  # fmt: skip
    psi_threshold = fields.Float(allow_none=True)
    alarm = fields.Boolean(
        metadata={"description": "PSI above the threshold: the population has shifted since "
                                 "training; retrain or investigate"},
    )  # fmt: skip
    shifted = fields.List(
        fields.Nested(ShiftedSchema),
        metadata={"description": "the variables over the threshold, the worst first"},
    )


class ScoringRunOneSchema(ScoringRunSchema):
    psi = fields.Dict(
        keys=fields.String(), values=fields.Float(),
        metadata={"description": "every variable's PSI (score: the model's score)"},
    )  # fmt: skip


ScoringRunPageSchema = page_schema(ScoringRunSchema, "ScoringRunPageSchema")


@blp.route("/scoring/runs")
class ScoringRunsView(MethodView):
    @require("rankings:read")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, ScoringRunPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Finished scoring runs, newest first: which one is current, its model, and its
        population-stability check (PSI alarm above 0.25, and the variables that shifted)."""
        return ratings.list_runs(db.session, args)


@blp.route("/scoring/runs/<int:run_id>")
class ScoringRunView(MethodView):
    @require("rankings:read")
    @blp.response(200, ScoringRunOneSchema)
    def get(self, run_id: int) -> dict[str, Any]:
        """One finished scoring run, with every variable's PSI."""
        return ratings.run_summary(db.session, ratings.get_run(db.session, run_id), full=True)


@blp.route("/scoring/points")
class PointsCardView(MethodView):
    @require("rankings:read")
    @blp.arguments(PointsArgsSchema, location="query")
    @blp.response(200, PointsCardSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The scorecard's points table: every variable's bins with their texts, training
        rows, WoE and points — how each score and reason of a run was made.  A user scoped
        to regions sees the bins of those regions only: another region's bin holds that
        region's record (its rows and, in the WoE, their outcomes), which the rest of the
        API keeps from them."""
        from inspect_core.credit.jobs import latest_model, points_card, tier_cutoffs
        from inspect_core.credit.models import ScoringModel

        if "run" in args:
            run = ratings.get_run(db.session, args["run"])
            model = db.session.get(ScoringModel, run.model_id) if run.model_id else None
            if model is None:
                raise NotFound(
                    f"scoring run {run.id} names no stored model",
                    {"run": [f"scoring run {run.id} names no stored model"]},
                    message_zh=f"评分批次 {run.id} 没有对应的已存模型",
                )
        else:
            run, model = None, latest_model(db.session)
        card = points_card(model)
        card["tier_cutoffs"], card["tier_cutoffs_source"] = tier_cutoffs(
            current_app.config.get("TIER_CUTOFFS"), model, run
        )
        card["tier_shares"] = (model.metrics or {}).get("tier_shares")
        regions = current_user().regions
        if regions:
            card["items"] = [
                item for item in card["items"]
                if item["variable"] != "region" or item["category"] in (None, *regions)
            ]  # fmt: skip
        return card
