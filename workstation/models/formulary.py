"""The drug catalogue (``GET /staff/formulary``) as the prescription editor uses it: cached, searched locally.

Search is the four ways a doctor types a drug: the generic name (阿莫西林), the brand name (阿莫仙), pinyin
initials of either (amxl) and the catalogue code. Ranked like the ICD-10 picker: the exact code, code prefixes,
names and initials that start with the text, then those that merely contain it; catalogue order within a rank.
Every field is lower-cased once when the catalogue is built, so a keystroke over a few hundred drugs costs well
under a millisecond.

The catalogue is kept in the local store with its ETag: the editor shows the cached copy at once (also offline)
and the server answers 304 when nothing changed. :func:`default_quantity` is the editor's instant estimate of a
line's quantity; the server's ``quantity_computed`` is the truth as soon as it answers.

No Qt here: the search runs in tests and on a worker as plain Python.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workstation.models.pinyin import name_initials

CACHE_KEY = "formulary"
CONTROLLED = frozenset({"narcotic", "psychotropic_1", "psychotropic_2", "toxic", "radioactive"})


@dataclass(frozen=True, slots=True)
class Drug:
    code: str
    generic_name: str
    brand_name: str
    initials: tuple[str, ...]
    strength: str
    form: str
    unit: str
    dose_unit: str
    dose_per_unit: float
    package: str
    max_daily_dose: float | None
    default_route: str
    default_frequency: str
    control: str
    atc: str
    allergy_classes: tuple[str, ...]
    price_fen: int
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, d: dict[str, Any]) -> Drug:
        generic = str(d.get("generic_name") or "")
        brand = str(d.get("brand_name") or "")
        initials = tuple(str(i).lower() for i in (d.get("initials") or []) if i)
        if not initials:  # an older server: the table-based initials (fast; no pypinyin)
            initials = tuple(x for x in (name_initials(generic), name_initials(brand)) if x)
        max_daily = d.get("max_daily_dose")
        return cls(code=str(d["code"]), generic_name=generic, brand_name=brand, initials=initials,
                   strength=str(d.get("strength") or ""), form=str(d.get("form") or ""),
                   unit=str(d.get("unit") or ""), dose_unit=str(d.get("dose_unit") or ""),
                   dose_per_unit=float(d.get("dose_per_unit") or 1), package=str(d.get("package") or ""),
                   max_daily_dose=float(max_daily) if max_daily is not None else None,
                   default_route=str(d.get("default_route") or ""),
                   default_frequency=str(d.get("default_frequency") or ""),
                   control=str(d.get("control") or "ordinary"), atc=str(d.get("atc") or ""),
                   allergy_classes=tuple(str(a) for a in (d.get("allergy_classes") or [])),
                   price_fen=int(d.get("price_fen") or 0), raw=dict(d))

    @property
    def controlled(self) -> bool:
        """Narcotic, psychotropic, toxic or radioactive: never prescribed online (the server blocks it)."""
        return self.control in CONTROLLED

    @property
    def name(self) -> str:
        """``阿莫西林胶囊（阿莫仙）``: the generic name, the brand in brackets when there is one."""
        return f"{self.generic_name}（{self.brand_name}）" if self.brand_name else self.generic_name

    @property
    def default_dose(self) -> float:
        """One dispensing unit's dose: the usual starting point of a line."""
        return self.dose_per_unit


@dataclass(frozen=True, slots=True)
class Frequency:
    code: str
    label_zh: str
    label_en: str
    per_day: float | None  # None: once (st)


@dataclass(frozen=True, slots=True)
class Route:
    code: str
    label_zh: str
    label_en: str


@dataclass(slots=True)
class _Key:
    """The lower-cased search fields of one drug, made once."""

    code: str
    names: tuple[str, ...]
    initials: tuple[str, ...]


class Formulary:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.version = str(data.get("version") or "")
        self.drugs = [Drug.from_api(d) for d in data.get("drugs") or []]
        self.frequencies = [Frequency(str(f["code"]), str(f.get("label_zh") or f["code"]),
                                      str(f.get("label_en") or f["code"]),
                                      float(f["per_day"]) if f.get("per_day") is not None else None)
                            for f in data.get("frequencies") or []]
        self.routes = [Route(str(r["code"]), str(r.get("label_zh") or r["code"]), str(r.get("label_en") or r["code"]))
                       for r in data.get("routes") or []]
        self.limits: dict[str, int] = {"max_drugs": 5, "max_days_plain": 7, "max_days_chronic": 84,
                                       "max_validity_days": 3, **(data.get("limits") or {})}
        self._by_code = {d.code: d for d in self.drugs}
        self._freq = {f.code: f for f in self.frequencies}
        self._route = {r.code: r for r in self.routes}
        self._keys = [_Key(d.code.lower(),
                           tuple(n.lower() for n in (d.generic_name, d.brand_name) if n),
                           d.initials) for d in self.drugs]

    def __len__(self) -> int:
        return len(self.drugs)

    def drug(self, code: str) -> Drug | None:
        return self._by_code.get(code)

    def frequency(self, code: str) -> Frequency | None:
        return self._freq.get(code)

    def route(self, code: str) -> Route | None:
        return self._route.get(code)

    def search(self, query: str, *, limit: int = 30) -> list[Drug]:
        """Best matches first (module docstring). An empty query finds nothing: the popup stays closed."""
        q = query.strip().lower()
        if not q:
            return []
        ranked: list[tuple[int, int, Drug]] = []
        for i, (k, d) in enumerate(zip(self._keys, self.drugs, strict=True)):
            rank = _rank(k, q)
            if rank is not None:
                ranked.append((rank + (10 if d.controlled else 0), i, d))
        ranked.sort(key=lambda r: (r[0], r[1]))
        return [r[2] for r in ranked[:limit]]


def _rank(k: _Key, q: str) -> int | None:
    if k.code == q:
        return 0
    if k.code.startswith(q):
        return 1
    if any(n.startswith(q) for n in k.names):
        return 2
    if any(i.startswith(q) for i in k.initials):
        return 3
    if any(q in n for n in k.names):
        return 4
    if any(q in i for i in k.initials):
        return 5
    if len(q) >= 3 and q in k.code:
        return 6
    return None


def default_quantity(drug: Drug, *, dose: float, frequency: Frequency | None, days: int) -> int:
    """Dispensing units for ``dose`` (in the drug's dose unit) at ``frequency`` for ``days``, rounded up.

    ``prn`` counts once a day (the catalogue says so with ``per_day`` 1); ``st`` (``per_day`` None) is one dose.
    """
    if dose <= 0 or drug.dose_per_unit <= 0:
        return 1
    per_unit = dose / drug.dose_per_unit
    if frequency is None or frequency.per_day is None:
        total = per_unit
    else:
        total = per_unit * frequency.per_day * max(days, 1)
    return max(1, math.ceil(round(total, 6)))


def load_formulary(fetch: Callable[..., tuple[dict[str, Any] | None, str | None]],
                   store: Any | None) -> tuple[Formulary, bool]:
    """``(formulary, fresh)`` on a worker: the cached copy revalidated with its ETag; the cache when the server
    cannot be reached (``fresh`` False); the error when there is neither."""
    cached = store.cache_get(CACHE_KEY) if store is not None else None
    etag = cached.get("etag") if isinstance(cached, dict) else None
    try:
        data, new_etag = fetch(etag=etag)
    except Exception:
        if isinstance(cached, dict) and cached.get("data"):
            return Formulary(cached["data"]), False
        raise
    if data is None and isinstance(cached, dict):
        return Formulary(cached["data"]), True
    assert data is not None
    if store is not None:
        store.cache_put(CACHE_KEY, {"etag": new_etag, "data": data})
    return Formulary(data), True


def fen_text(fen: int | None) -> str:
    """``¥12.50`` from fen."""
    fen = int(fen or 0)
    return f"¥{fen // 100}.{fen % 100:02d}"
