"""Is the credit rating net of the inspector?  The demo district, rated with findings
weighed by team strictness beside the same district rated with findings counted whole.

    .venv/bin/python bench/bench_inspector_net.py [--seeds 2026 7 11] [--enterprises 3000]

Per seed, two fresh SQLite databases hold the same simulated district (``simulate``,
``demo.seed_history``, ``demo.seed_credit_record``: a third of the enterprises risky,
each inspector with a simulated strictness that scales what they find).  One is trained
and rescored with ``SCORING_NET_OF_INSPECTOR`` true, the other (the naive baseline: the
findings as recorded) with it false.  For each enterprise with a history, the mean
simulated strictness of the teams on its results' tasks is set against its stored
probability, within the risky and the other enterprises: a rating net of the inspector
shows no correlation there (issue #5: "report enterprise risk net of which inspector
happened to visit").  The AUC of the probability against the simulated risk class says
whether the ranking lost anything.  Every figure is measured in this run; the
simulation, not real data, knows the strictness and the risk.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sqlalchemy import select  # noqa: E402

from inspect_core.app import create_app  # noqa: E402
from inspect_core.credit import jobs  # noqa: E402
from inspect_core.credit.models import CreditRating  # noqa: E402
from inspect_core.db import db  # noqa: E402
from inspect_core.demo import seed_credit_record, seed_history  # noqa: E402
from inspect_core.inspectors.models import Inspector  # noqa: E402
from inspect_core.migrate import upgrade  # noqa: E402
from inspect_core.plans.models import TaskAssignment  # noqa: E402
from inspect_core.results.models import Result  # noqa: E402
from inspect_core.results.service import today_in_china  # noqa: E402
from inspect_core.simulate import simulate  # noqa: E402


def rate(path: Path, seed: int, enterprises: int, net: bool) -> dict[str, float]:
    """Build, train and rescore one district; the figures of one row of the table."""
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{path}", "TESTING": True, "SCORING_NET_OF_INSPECTOR": net}
    )
    with app.app_context():
        upgrade(db.engine)
        simulate(db.engine, enterprises, 80, seed=seed, progress=False)
        history = seed_history(seed=seed)
        seed_credit_record(seed, history)
        db.session.commit()
        started = time.perf_counter()
        model = jobs.train(db.session, "bench", today_in_china(), window_days=3 * 365)
        scoring_run = jobs.run(db.session, "bench", today_in_china())
        seconds = time.perf_counter() - started
        probability = dict(
            db.session.execute(
                select(CreditRating.enterprise_id, CreditRating.probability).where(
                    CreditRating.run_id == scoring_run.id
                )
            ).all()
        )
        badge = dict(db.session.execute(select(Inspector.id, Inspector.badge)).all())
        teams: dict[int, list[float]] = {}
        for task_id, inspector_id in db.session.execute(
            select(TaskAssignment.task_id, TaskAssignment.inspector_id)
        ):
            teams.setdefault(task_id, []).append(history.strictness.get(badge[inspector_id], 1.0))
        past: dict[int, list[float]] = {}
        for enterprise_id, task_id in db.session.execute(
            select(Result.enterprise_id, Result.task_id)
        ):
            if task_id in teams:
                past.setdefault(enterprise_id, []).append(float(np.mean(teams[task_id])))
        db.engine_for(app).dispose()
    assert model.metrics["net_of_inspector"] is net, model.metrics.get("net_of_inspector")
    ids = sorted(past)
    risky = np.array([e in history.risky for e in ids])
    p = np.array([float(probability[e]) for e in ids])
    s = np.array([float(np.mean(past[e])) for e in ids])
    return {
        "corr_risky": float(np.corrcoef(s[risky], p[risky])[0, 1]),
        "corr_other": float(np.corrcoef(s[~risky], p[~risky])[0, 1]),
        "auc": float(roc_auc_score(risky, p)),
        "n_risky": int(risky.sum()),
        "n_other": int((~risky).sum()),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[2026, 7, 11])
    parser.add_argument("--enterprises", type=int, default=3000)
    args = parser.parse_args()
    print("corr: of the teams' simulated strictness with the stored probability, within the "
          "risky / the other enterprises (0 = net of the inspector); auc: probability "
          "against the simulated risk class")  # fmt: skip
    header = f"{'seed':>6} {'model':<26} {'corr risky':>10} {'corr other':>10} {'auc':>7}"
    print(header + f" {'enterprises':>17} {'train+run':>10}")
    totals: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for net in (False, True):
                row = rate(Path(tmp) / f"{seed}-{net}.sqlite3", seed, args.enterprises, net)
                totals[net].append(row)
                name = "net (findings weighed)" if net else "baseline (findings whole)"
                print(f"{seed:>6} {name:<26} {row['corr_risky']:>10.3f} "
                      f"{row['corr_other']:>10.3f} {row['auc']:>7.4f} "
                      f"{row['n_risky']:>7} + {row['n_other']:>6} {row['seconds']:>9.1f}s",
                      flush=True)  # fmt: skip
    for net in (False, True):
        rows = totals[net]
        name = "net" if net else "baseline"
        print(f"mean {name:<9} corr risky {np.mean([r['corr_risky'] for r in rows]):.3f}, "
              f"corr other {np.mean([r['corr_other'] for r in rows]):.3f}, "
              f"auc {np.mean([r['auc'] for r in rows]):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
