"""Bilingual (zh-CN / English) names of features, for points tables and reason codes.

Reason codes reach regulators and enterprises, so a feature needs a readable name in both
languages.  Unknown features fall back to their column name, which keeps new pass-through
columns usable before someone names them here.
"""

from __future__ import annotations

import re

_STATIC: dict[str, tuple[str, str]] = {
    "n_prior": ("既往检查次数", "number of prior inspections"),
    "has_history": ("有无检查记录", "has inspection history"),
    "days_since_last": ("距上次检查天数", "days since last inspection"),
    "last_critical": ("上次检查严重问题数", "critical findings at last inspection"),
    "last_serious": ("上次检查较重问题数", "serious findings at last inspection"),
    "last_minor": ("上次检查一般问题数", "minor findings at last inspection"),
    "last_failed": ("上次检查不合格", "failed last inspection"),
    "last_result": ("上次检查结论", "result of last inspection"),
    "facility_type": ("业态类型", "facility type"),
    "risk_category": ("静态风险等级", "static risk category"),
    "inspector": ("检查人员组", "inspector group"),
    "heat_burglary": ("周边盗窃密度", "nearby burglary density"),
    "heat_garbage": ("周边垃圾投诉密度", "nearby garbage-complaint density"),
    "heat_sanitation": ("周边卫生投诉密度", "nearby sanitation-complaint density"),
    "temperature_max": ("当日最高气温", "daily maximum temperature"),
    "business_age_years": ("经营年限", "years in business"),
    "consumption_on_premises": ("堂食", "consumption on premises"),
    "tobacco": ("烟草零售", "tobacco retail"),
    "package_goods": ("预包装商品", "packaged goods"),
    "tavern": ("酒馆", "tavern"),
    "mobile_food_license": ("流动食品许可", "mobile food licence"),
    "serious_dishonesty": ("列入严重违法失信名单", "on the serious-dishonesty list"),
    "no_history": ("无检查记录", "no inspection history"),
}

_DECAY = re.compile(r"^decay_(critical|serious|minor|failed|inspections)_(.+)d$")
_DECAY_NAMES = {
    "critical": ("严重问题", "critical findings"),
    "serious": ("较重问题", "serious findings"),
    "minor": ("一般问题", "minor findings"),
    "failed": ("不合格检查", "failed inspections"),
    "inspections": ("检查", "inspections"),
}


def feature_label(name: str) -> tuple[str, str]:
    """(zh-CN, English) display name of a feature column."""
    if name in _STATIC:
        return _STATIC[name]
    match = _DECAY.match(name)
    if match:
        zh, en = _DECAY_NAMES[match.group(1)]
        h = match.group(2)
        return (f"近期{zh}（半衰期{h}天）", f"recent {en} (half-life {h} days)")
    return (name, name)
