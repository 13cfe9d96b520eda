"""The inspector effect on a simulated double-random history: the strictness the demo
history gave each inspector is what ``/scoring/inspector-effects`` should recover."""

from __future__ import annotations

from scipy.stats import spearmanr

from inspect_core.app import create_app
from inspect_core.credit import jobs
from inspect_core.db import db
from inspect_core.demo import seed_history
from inspect_core.migrate import upgrade
from inspect_core.results.service import today_in_china
from inspect_core.simulate import simulate


def test_the_estimated_strictness_ranks_inspectors_as_the_simulation_made_them(tmp_path):
    """Four rounds of draws, a new random team of two for every check, all recorded by one
    clerk's account: crediting each result to its drawn team (not to the account that
    typed it) orders the inspectors as their simulated strictness does."""
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'history.sqlite3'}",
                      "TESTING": True})  # fmt: skip
    with app.app_context():
        upgrade(db.engine)
        simulate(db.engine, 3000, 80, seed=2026, progress=False)  # the demo district's
        history = seed_history(seed=2026)
        db.session.commit()
        model = jobs.train(db.session, "test", today_in_china(), window_days=3 * 365)
        db.engine_for(app).dispose()
    rated = {i["inspector"]: i["strictness"] for i in model.metrics["inspectors"]}
    assert set(rated) == set(history.strictness) and len(rated) >= 15
    badges = sorted(rated)
    rho = spearmanr([rated[b] for b in badges], [history.strictness[b] for b in badges])
    assert rho.statistic > 0.7, rho
