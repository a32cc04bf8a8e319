"""Amounts on printed documents: integer fen as "¥123.45", and in Chinese capitals (人民币大写) as a receipt
writes them: 壹拾贰元叁角肆分.

The capitals follow 《支付结算办法》 (附件一, 正确填写票据和结算凭证的基本规定) and 《会计基础工作规范》:

- digits 零壹贰叁肆伍陆柒捌玖, units 拾佰仟 within a group of four, 万 and 亿 for the groups, 元角分; a leading
  ten is 壹拾 (10 → 壹拾元整), never a bare 拾;
- 整 after 元 or 角 when there are no 分 (10.00 → 壹拾元整, 0.50 → 伍角整), never after 分;
- zeros between digits are one 零 however many there are (1,001 → 壹仟零壹元, 6,007.14 → 陆仟零柒元壹角肆分);
- 角 zero and 分 not: 零 after 元 (325.04 → 叁佰贰拾伍元零肆分);
- 元位 zero and 角 not: 零 after 元 (1,680.32 → 壹仟陆佰捌拾元零叁角贰分); 万位 zero and 千位 not: no 零
  (107,000.53 → 壹拾万柒仟元零伍角叁分) — the regulation allows either form for these two and gives these first;
- no 元 when there are no yuan (0.05 → 伍分); nothing at all is 零元整.
"""
from __future__ import annotations

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
GROUP_UNITS = ("", "万", "亿")
MAX_FEN = 10 ** 12 * 100 - 1        # 9999亿9999万9999元9角9分


def yuan(fen: int | None) -> str:
    """Integer fen → "¥123.45" (exact: no float on the way); "—" for None."""
    if fen is None:
        return "—"
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100}.{fen % 100:02d}"


def _group(n: int) -> str:
    """0 < n < 10000 in capitals, a zero run inside it written once (1001 → 壹仟零壹; 1010 → 壹仟零壹拾)."""
    out: list[str] = []
    zero = False
    for pos in (3, 2, 1, 0):
        d = n // 10 ** pos % 10
        if d == 0:
            zero = bool(out)             # a zero after a digit: 零 if another digit follows
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(DIGITS[d] + SMALL_UNITS[pos])
    return "".join(out)


def _integer(n: int) -> str:
    """0 < n < 10¹² in capitals: groups of four with 万/亿; a group that starts below 千 after a higher group
    gets a 零 (1,000,001 → 壹佰万零壹; 100,010,000 → 壹亿零壹万), one that is all zeros adds nothing."""
    groups = [n // 10 ** (4 * i) % 10000 for i in range(3)]     # low to high
    out: list[str] = []
    zero = False
    for i in (2, 1, 0):
        g = groups[i]
        if g == 0:
            zero = zero or bool(out)
            continue
        if out and (zero or g < 1000):
            out.append("零")
        zero = False
        out.append(_group(g) + GROUP_UNITS[i])
    return "".join(out)


def rmb_capital(fen: int) -> str:
    """Integer fen → the amount in Chinese capitals (without the "人民币" prefix): 1234 → 壹拾贰元叁角肆分,
    1000 → 壹拾元整, 5 → 伍分, 0 → 零元整. Raises ValueError for negative amounts and 10¹² yuan or more."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"fen must be an int, not {type(fen).__name__}")
    if fen < 0:
        raise ValueError("a negative amount has no capital form")
    if fen > MAX_FEN:
        raise ValueError("amount too large")
    whole, jiao, fen_digit = fen // 100, fen // 10 % 10, fen % 10
    if fen == 0:
        return "零元整"
    out = ""
    if whole:
        out = _integer(whole) + "元"
        if (jiao and whole % 10 == 0) or (not jiao and fen_digit):
            out += "零"                  # 元位 zero before 角 (1,680.32), or 角 zero before 分 (325.04)
    if jiao:
        out += DIGITS[jiao] + "角"
    if fen_digit:
        out += DIGITS[fen_digit] + "分"
    else:
        out += "整"
    return out
