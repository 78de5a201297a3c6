"""Realistic intake data for tests (valid ID and credit-code checksums)."""

from __future__ import annotations

import copy


def _valid_uscc() -> str:
    from stdnum.cn import uscc

    base = "91532301MA6K0X123"
    return base + uscc.calc_check_digit(base)


def _valid_ric(prefix17: str) -> str:
    from stdnum.cn import ric

    return prefix17 + ric.calc_check_digit(prefix17)


def wage_arrears_intake(**overrides) -> dict:
    data = {
        "complainant": {"name": "李建国", "id_number": _valid_ric("53230119880512001"), "phone": "13887654321"},
        "workers_count": 12,
        "employer": {"name": "楚雄市某建筑劳务有限公司", "uscc": _valid_uscc(), "address": "楚雄市鹿城南路88号"},
        "project": {"name": "鹿城镇安置房二期", "type": "government_invested", "sector": "construction"},
        "amount_owed": "126000.00",
        "period_from": "2020-09-01",
        "period_to": "2020-12-31",
        "source": "hotline",
    }
    result = copy.deepcopy(data)
    for key, value in overrides.items():
        result[key] = value
    return result
