"""Administrative divisions (GB/T 2260) the demo and the notices know, with each bureau's name and the short
form used in document numbers (楚人社监令〔2021〕17号)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from stdnum import numdb


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    bureau: str
    abbreviation: str


_REGIONS = [
    Region("530000", "云南省", "云南省人力资源和社会保障厅", "云人社"),
    Region("532300", "楚雄彝族自治州", "楚雄州人力资源和社会保障局", "楚人社"),
    Region("532301", "楚雄市", "楚雄市人力资源和社会保障局", "楚市人社"),
    Region("532302", "禄丰市", "禄丰市人力资源和社会保障局", "禄人社"),
    Region("532322", "双柏县", "双柏县人力资源和社会保障局", "双人社"),
    Region("532323", "牟定县", "牟定县人力资源和社会保障局", "牟人社"),
    Region("532324", "南华县", "南华县人力资源和社会保障局", "南人社"),
    Region("532325", "姚安县", "姚安县人力资源和社会保障局", "姚人社"),
    Region("532326", "大姚县", "大姚县人力资源和社会保障局", "大人社"),
    Region("532327", "永仁县", "永仁县人力资源和社会保障局", "永人社"),
    Region("532328", "元谋县", "元谋县人力资源和社会保障局", "元人社"),
    Region("532329", "武定县", "武定县人力资源和社会保障局", "武人社"),
]
REGIONS: dict[str, Region] = {r.code: r for r in _REGIONS}


def lineage(code: str) -> list[str]:
    """A region, then its prefecture, then its province (each once): 532322 -> 532322, 532300, 530000."""
    return list(dict.fromkeys((code, code[:4] + "00", code[:2] + "0000")))


def issuing_region(code: str) -> Region:
    """The bureau for a case region: the region itself, else its prefecture, else its province."""
    for candidate in lineage(code):
        if candidate in REGIONS:
            return REGIONS[candidate]
    return Region(code, code, f"{code} 人力资源和社会保障局", "人社")


def region_name(code: str) -> str:
    region = REGIONS.get(code)
    return region.name if region else code


def children(code: str) -> list[Region]:
    """The next level down: a province's prefectures, a prefecture's counties."""
    if code.endswith("0000"):
        return [r for r in _REGIONS if r.code.startswith(code[:2]) and r.code.endswith("00") and r.code != code]
    if code.endswith("00"):
        return [r for r in _REGIONS if r.code.startswith(code[:4]) and r.code != code]
    return [REGIONS[code]] if code in REGIONS else []


# A period in python-stdnum's division database: "[1983-]楚雄市" (since 1983), "[-2021]禄丰县" (until 2021).
_PERIOD = re.compile(r"^\[(\d*)-(\d*)\]")
# Entries of the database that are groupings, not divisions a bureau serves: a mistyped 530101 is no county.
_PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政单位", "自治区直辖县级行政单位"}


def _in_force(names: str) -> bool:
    """Whether one of an entry's names (comma-separated, each with an optional period) has no period that ended,
    and names a division rather than a grouping."""
    for name in names.split(","):
        period = _PERIOD.match(name)
        if (period is None or not period.group(2)) and _PERIOD.sub("", name) not in _PLACEHOLDERS:
            return True
    return False


@cache
def _divisions_in_force() -> frozenset[str]:
    """Every province, prefecture and county code of GB/T 2260 in force, read once from python-stdnum's division
    database (a few thousand codes: a set, not a cache that grows with what users type)."""
    codes = set()
    for _length, low, high, _province, counties in numdb.get("cn/loc").prefixes:
        for province in range(int(low), int(high) + 1):
            for _length, c_low, c_high, entry, _children in counties:
                if _in_force(entry.get("county", "")):
                    codes.update(f"{province:02d}{c:04d}" for c in range(int(c_low), int(c_high) + 1))
    return frozenset(codes)


def is_current_division(code: str) -> bool:
    """Whether `code` is a province, prefecture or county in force (532399 is six digits but no county; 532331,
    禄丰县, was abolished in 2021; 530101 is a grouping), or a region this installation has a bureau for (a division
    newer than the database)."""
    return code in REGIONS or code in _divisions_in_force()
