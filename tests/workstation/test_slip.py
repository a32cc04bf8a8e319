"""The printed prescription slip (处方笺): the PDF's text read back field by field, the embedded font, the paper
tint, the QR code's modules, the diagonal line, the size; and the font search (TrueType only, clear errors).

No screen needed: pages are rendered with pypdfium2."""
from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from reportlab.lib.units import mm

from workstation.services.printing import fonts, slip
from workstation.services.printing.samples import LONG_DIAGNOSIS, sample_slip
from workstation.services.printing.slip import qr_modules, render_slip, slip_filename, yuan

pytestmark = pytest.mark.db_independent

PT = 72.0


def pages_text(pdf: bytes) -> list[str]:
    doc = pdfium.PdfDocument(pdf)
    try:
        out = []
        for i in range(len(doc)):
            page = doc[i]
            tp = page.get_textpage()
            out.append(tp.get_text_range().replace("\r\n", "\n"))
            tp.close()
            page.close()
        return out
    finally:
        doc.close()


def render(pdf: bytes, *, page: int = 0, dpi: float = 72.0) -> Any:
    """The page as a PIL RGB image at ``dpi``."""
    doc = pdfium.PdfDocument(pdf)
    try:
        p = doc[page]
        img = p.render(scale=dpi / PT).to_pil().convert("RGB")
        p.close()
        return img
    finally:
        doc.close()


def field(text: str, label: str) -> str:
    """The value printed after ``label：`` (up to the next label or the end of the line)."""
    m = re.search(re.escape(label) + r"：\s*(.*?)(?:\s+\S+：|$)", text, re.MULTILINE)
    assert m, f"no {label!r} in:\n{text}"
    return m.group(1).strip()


@pytest.fixture(scope="module")
def ordinary() -> tuple[dict, bytes]:
    data = sample_slip("ordinary", drugs=5)
    return data, render_slip(data)


# --- the text, field by field ---------------------------------------------------------------------------------------

def test_front_matter_fields(ordinary: tuple[dict, bytes]) -> None:
    data, pdf = ordinary
    (text,) = pages_text(pdf)
    lines = text.splitlines()
    assert lines[0] == data["hospital"]
    assert lines[1] == "处方笺"
    assert data["slip_mark"] == "普通" and "普通" in lines[:4]
    assert data["no"] in lines
    assert field(text, "费别") == data["fee_category_label"]
    assert field(text, "科别") == data["department"]
    assert field(text, "开具日期") == data["date"]
    assert field(text, "姓名") == data["patient"]["name"]
    assert field(text, "性别") == data["patient"]["sex"]
    assert field(text, "年龄") == data["patient"]["age_label"]
    assert field(text, "门诊号/卡号") == data["patient"]["card_no"]
    assert field(text, "身份证号") == data["patient"]["id_masked"]      # masked as given, never unmasked
    assert field(text, "临床诊断") == data["diagnosis"]
    assert field(text, "过敏史") == "、".join(data["allergies"])


def test_rp_lines_in_order_with_every_field(ordinary: tuple[dict, bytes]) -> None:
    data, pdf = ordinary
    (text,) = pages_text(pdf)
    lines = text.splitlines()
    rp = lines.index("Rp")
    body = lines[rp + 1:]
    for i, drug in enumerate(data["lines"]):
        first, second = body[2 * i], body[2 * i + 1]
        assert first.split() == [f"{i + 1}.", drug["name"], drug["strength"], drug["form"],
                                 f"×{drug['quantity_label']}"], first
        assert second == f"用法用量：{drug['directions']}", second
    assert body[2 * len(data["lines"])] == "以下空白"


def test_back_matter(ordinary: tuple[dict, bytes]) -> None:
    data, pdf = ordinary
    (text,) = pages_text(pdf)
    # 02:31 UTC is 10:31 in China
    assert re.search(r"^医师：\s*李慧敏\s*（电子签名 2026-11-26 10:31）", text, re.MULTILINE), text
    assert data["doctor_name"] == "李慧敏"
    assert field(text, "药品金额") == "¥486.50"
    for box in ("审核药师", "调配药师", "核对药师", "发药药师"):
        assert box in text
    assert text.splitlines()[text.splitlines().index("审核药师") + 1] == data["reviewer_name"]
    assert text.splitlines()[-1].startswith(f"有效期：{data['validity_label']} ")


def test_paediatric_slip_fields_and_notes() -> None:
    data = sample_slip("paediatric", drugs=1)
    (text,) = pages_text(render_slip(data))
    assert "儿科" in text.splitlines()[:4]
    assert field(text, "年龄") == "3岁2月"
    assert field(text, "过敏史") == "无"
    assert "备注：" + data["notes"] in text.replace("\n", "")
    assert "审核药师 调配药师 核对药师 发药药师" in text.splitlines()   # no reviewer yet: every box empty


def test_long_diagnosis_wraps_and_is_all_there() -> None:
    data = sample_slip("ordinary", drugs=5, long_diagnosis=True)
    pdf = render_slip(data)
    (text,) = pages_text(pdf)
    start = text.index("临床诊断：") + len("临床诊断：")
    end = text.index("过敏史：")
    assert re.sub(r"\s+", "", text[start:end]) == re.sub(r"\s+", "", LONG_DIAGNOSIS)
    assert len(pdf) <= 60 * 1024


@pytest.mark.parametrize(("fen", "label"), [(12345, "¥123.45"), (5, "¥0.05"), (0, "¥0.00"), (100, "¥1.00"),
                                            (1234567, "¥12345.67")])
def test_yuan_from_fen(fen: int, label: str) -> None:
    assert yuan(fen) == label


def test_more_lines_than_a_sheet_continue_on_a_second_page() -> None:
    data = sample_slip("ordinary", drugs=5)
    data["lines"] = data["lines"] * 2
    texts = pages_text(render_slip(data))
    assert len(texts) == 2
    assert "第 1/2 页" in texts[0] and "第 2/2 页" in texts[1]
    assert "以下空白" not in texts[0] and "以下空白" in texts[1]
    assert "¥486.50" in texts[1] and "¥486.50" not in texts[0]
    names = [ln.split()[1] for t in texts for ln in t.splitlines() if re.match(r"^\d+\. ", ln)]
    assert names == [d["name"] for d in data["lines"]]
    for t in texts:                                    # every sheet is a complete slip
        assert field(t, "姓名") == data["patient"]["name"]


def test_same_data_same_bytes(ordinary: tuple[dict, bytes]) -> None:
    data, pdf = ordinary
    assert render_slip(data) == pdf


def test_filename() -> None:
    assert slip_filename({"no": "RX20261126000123", "title": "处方笺"}) == "处方笺_RX20261126000123.pdf"
    assert slip_filename({"no": "../x"}) == "处方笺_x.pdf"


# --- the embedded font ----------------------------------------------------------------------------------------------

def test_font_is_an_embedded_truetype_subset(ordinary: tuple[dict, bytes]) -> None:
    _, pdf = ordinary
    base_fonts = re.findall(rb"/BaseFont\s*/([^\s/<>\[\]]+)", pdf)
    assert base_fonts, "no font in the PDF"
    for name in base_fonts:                             # every font a subset: no Helvetica left to the viewer
        assert re.fullmatch(rb"[A-Z]{6}\+.+", name), name
    assert pdf.count(b"/FontFile2") == len(set(base_fonts))
    assert b"/FontFile3" not in pdf and b"/FontFile " not in pdf
    assert len(pdf) <= 60 * 1024, len(pdf)


def test_five_drug_slip_is_small() -> None:
    for data in (sample_slip("ordinary", drugs=5, long_diagnosis=True), sample_slip("paediatric", drugs=5)):
        assert len(render_slip(data)) <= 60 * 1024


# --- what the page looks like ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "expect"), [("ordinary", "white"), ("paediatric", "green"),
                                              ("emergency", "yellow")])
def test_paper_tint_per_slip_type(kind: str, expect: str) -> None:
    img = render(render_slip(sample_slip(kind, drugs=1)))
    r, g, b = img.getpixel((4, img.height // 2))      # the margin: nothing drawn there but the paper
    if expect == "white":
        assert (r, g, b) == (255, 255, 255)
    elif expect == "green":
        assert g > r + 10 and g > b + 10 and min(r, g, b) > 180, (r, g, b)
    else:
        assert abs(r - g) < 16 and r > b + 30 and min(r, g) > 230, (r, g, b)
    # the mark's box is white whatever the paper
    mx = int((slip.RIGHT - slip.MARK_W / 2) * img.width / slip.PAGE_W)
    my = int((slip.HEADER_TOP + 1.2 * mm) * img.height / slip.PAGE_H)
    assert img.getpixel((mx, my)) == (255, 255, 255)


def test_qr_code_modules_match_the_verify_url(ordinary: tuple[dict, bytes]) -> None:
    """No QR decoder in the venv (no zbar/zxing/OpenCV): the drawn modules are sampled at their centres and
    compared with the encoding of ``verify_url``, which pins the code to the URL and to its spot on the page."""
    data, pdf = ordinary
    dpi = 600.0
    img = render(pdf, dpi=dpi).convert("L")
    matrix = qr_modules(data["verify_url"])
    n = len(matrix)
    assert n >= 21 and all(len(row) == n for row in matrix)
    # finder patterns: the 7×7 corners of any QR code
    for r0, c0 in ((0, 0), (0, n - 7), (n - 7, 0)):
        assert all(matrix[r0][c0 + k] and matrix[r0 + 6][c0 + k] for k in range(7))
    px = dpi / PT
    x0 = slip.LEFT - 1.5 * mm
    top = slip.HEADER_TOP - 2 * mm
    module = slip.QR_SIZE / (n + 4)
    assert module >= 0.4 * mm                           # big enough for a phone camera on a 300 dpi print
    wrong = 0
    for r in range(n):
        for c in range(n):
            x = (x0 + (2 + c + 0.5) * module) * px
            y = (top + (2 + r + 0.5) * module) * px
            dark = img.getpixel((int(x), int(y))) < 128
            wrong += dark != matrix[r][c]
    assert wrong == 0
    # the quiet zone around it is white
    for k in range(n + 4):
        x = (x0 + (k + 0.5) * module) * px
        assert img.getpixel((int(x), int((top + 0.5 * module) * px))) > 200


def test_qr_encodes_another_url_differently() -> None:
    assert qr_modules("https://a.example/rx/verify/1") != qr_modules("https://a.example/rx/verify/2")


def test_diagonal_line_through_the_blank_space() -> None:
    """A one-drug slip: dark pixels along the diagonal below "以下空白", and not in the rest of the blank."""
    img = render(render_slip(sample_slip("paediatric", drugs=1)), dpi=144).convert("L")
    w, h = img.size
    # the blank area: between the notes and the footer's rule, across the Rp column
    top = int(h * 0.52)
    bottom = int(h * 0.72)
    xs = range(int(w * 0.3), int(w * 0.9))
    dark_rows = {}
    for y in range(top, bottom):
        row = [x for x in xs if img.getpixel((x, y)) < 128]
        if row:
            dark_rows[y] = row
    assert len(dark_rows) > (bottom - top) * 0.8         # the line crosses nearly every row of the blank
    # and it is a line, not a filled area: a few pixels per row, moving right as it goes down
    assert all(len(v) <= 12 for v in dark_rows.values())
    ys = sorted(dark_rows)
    assert sum(dark_rows[ys[-1]]) / len(dark_rows[ys[-1]]) > sum(dark_rows[ys[0]]) / len(dark_rows[ys[0]]) + w * 0.3


# --- the font search ------------------------------------------------------------------------------------------------

def _fake_sfnt(path: Path, tags: list[bytes]) -> Path:
    head = b"OTTO" if b"CFF " in tags else b"\x00\x01\x00\x00"
    data = head + struct.pack(">HHHH", len(tags), 0, 0, 0)
    for t in tags:
        data += t + struct.pack(">III", 0, 0, 0)
    path.write_bytes(data)
    return path


def test_cff_fonts_are_rejected(tmp_path: Path) -> None:
    cff = _fake_sfnt(tmp_path / "NotoSansCJK.otf", [b"CFF ", b"cmap", b"head"])
    ttf = _fake_sfnt(tmp_path / "tt.ttf", [b"cmap", b"glyf", b"head", b"loca"])
    assert not fonts.is_truetype_outline(cff)
    assert fonts.is_truetype_outline(ttf)
    assert not fonts.is_truetype_outline(tmp_path / "missing.ttf")
    (tmp_path / "junk.ttf").write_bytes(b"not a font at all")
    assert not fonts.is_truetype_outline(tmp_path / "junk.ttf")
    with pytest.raises(fonts.FontNotFound, match="fonts-wqy-zenhei"):
        fonts.find_cjk_font({fonts.ENV_VAR: str(cff)})
    with pytest.raises(fonts.FontNotFound, match="no such file"):
        fonts.find_cjk_font({fonts.ENV_VAR: str(tmp_path / "missing.ttf")})


def test_env_var_wins_and_takes_a_face_index() -> None:
    found = fonts.find_cjk_font({})
    assert fonts.is_truetype_outline(found.path, found.index)
    spec = f"{found.path}#{found.index}"
    assert fonts.find_cjk_font({fonts.ENV_VAR: spec}) == found
    assert fonts.parse_font_spec("/a/b.ttc#2") == fonts.FontFile("/a/b.ttc", 2)
    assert fonts.parse_font_spec("/a/b#c.ttf") == fonts.FontFile("/a/b#c.ttf", 0)


def test_ttc_faces_are_read_from_the_collection() -> None:
    wqy = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
    if not Path(wqy).exists():
        pytest.skip("fonts-wqy-zenhei not installed")
    assert {"glyf", "loca", "cmap"} <= fonts.sfnt_tables(wqy, 0)
    assert fonts.is_truetype_outline(wqy, 1)
    assert not fonts.is_truetype_outline(wqy, 99)


def test_no_font_anywhere_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "candidate_fonts", lambda: [fonts.FontFile("/nonexistent/x.ttc")])
    with pytest.raises(fonts.FontNotFound, match="apt-get install fonts-wqy-zenhei"):
        fonts.find_cjk_font({})


def test_registered_once() -> None:
    assert fonts.cjk_font_name() == fonts.cjk_font_name() == fonts.REGISTERED_NAME
    assert fonts.registered_font_file() is not None


# --- the QR encoder's mask choice -----------------------------------------------------------------------------------

@pytest.mark.parametrize("level", ["L", "M", "Q", "H"])
@pytest.mark.parametrize("value", ["x", "https://hospital.example.cn/rx/verify/3f9c2a7be01d4c55a8e1c0ffee42d9b7",
                                   "https://hospital.example.cn/rx/verify/" + "0123456789abcdef" * 8])
def test_masked_layouts_are_reportlabs(value: str, level: str) -> None:
    """The eight layouts re-masked in numpy are exactly what reportlab's own ``makeImpl(True, mask)`` lays out,
    and the final code is reportlab's layout of the chosen mask."""
    import numpy as np

    from workstation.services.printing.qr import _new_code, encode, mask_penalty, masked_layouts

    layouts = masked_layouts(_new_code(value, level))
    for mask in range(8):
        ref = _new_code(value, level)
        ref.makeImpl(True, mask)
        assert (np.array(ref.modules, dtype=bool) == layouts[mask]).all(), mask
    scores = [mask_penalty(g) for g in layouts]
    best = _new_code(value, level)
    best.makeImpl(False, scores.index(min(scores)))
    assert encode(value, level=level) == [[bool(m) for m in row] for row in best.modules]


def test_mask_penalty_rules() -> None:
    import numpy as np

    from workstation.services.printing.qr import mask_penalty

    light = np.zeros((21, 21), dtype=bool)
    # N1: 42 runs of 21 (19 each); N2: 400 blocks (3 each); N3: none; N4: 0 % dark (10 × 10)
    assert mask_penalty(light) == 42 * 19 + 400 * 3 + 100
    checker = (np.indices((21, 21)).sum(axis=0) % 2).astype(bool)
    assert mask_penalty(checker) == 0
    finder_row = checker.copy()
    finder_row[10, :] = False
    finder_row[10, 5:12] = [1, 0, 1, 1, 1, 0, 1]       # light on both sides: two N3 hits, plus its light runs
    assert mask_penalty(finder_row) - mask_penalty(checker) >= 80


def test_memoised_polynomial_gives_the_same_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    from reportlab.graphics.barcode.qrencoder import QRUtil

    from workstation.services.printing import qr

    values = [f"https://hospital.example.cn/rx/verify/{i:032x}" for i in range(5)] + ["短", "x" * 300]
    fast = [qr.encode(v, level=lvl) for v in values for lvl in "LMQH"]
    monkeypatch.setattr(QRUtil, "getErrorCorrectPolynomial", staticmethod(qr._ORIGINAL_EC_POLYNOMIAL))
    assert not hasattr(QRUtil.getErrorCorrectPolynomial, "cache_info")
    assert fast == [qr.encode(v, level=lvl) for v in values for lvl in "LMQH"]


def test_wrap_keeps_width_text_and_punctuation() -> None:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from workstation.services.printing.fonts import cjk_font_name

    text = LONG_DIAGNOSIS + " Helicobacter-pylori-associated-gastritis 幽门螺杆菌相关性胃炎。"
    for width in (60.0, 90.0, 140.0, 300.0):
        lines = slip.wrap(text, 10, width)
        assert len(lines) > 1
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        for ln in lines:
            hang = stringWidth("；", cjk_font_name(), 10)
            assert stringWidth(ln, cjk_font_name(), 10) <= width + hang, (width, ln)
            assert ln and ln[0] not in slip.NO_LINE_START, (width, ln)
    assert slip.wrap("", 10, 100) == [""]


def test_finder_penalty_matches_a_plain_window_scan() -> None:
    """N3 against the definition: every 11-module window of each row and column (quiet zone light)."""
    import numpy as np

    from workstation.services.printing.qr import _finder_penalty

    patterns = ([1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1])

    def plain(a: np.ndarray) -> int:
        hits = 0
        for row in a.tolist():
            padded = [False] * 4 + row + [False] * 4
            for s in range(len(padded) - 10):
                hits += sum(padded[s:s + 11] == [bool(b) for b in p] for p in patterns)
        return 40 * hits

    rng = np.random.default_rng(5)
    for size in (21, 25, 37):
        for density in (0.3, 0.5, 0.7):
            a = rng.random((size, size)) < density
            assert _finder_penalty(a) == plain(a) and _finder_penalty(a.T) == plain(a.T)


def test_pdf_dated_when_signed(ordinary: tuple[dict, bytes]) -> None:
    _, pdf = ordinary
    # signed 02:31:05 UTC = 10:31:05 China time
    assert re.search(rb"/CreationDate \(D:20261126103105\+08'00'\)", pdf), re.findall(rb"/CreationDate[^\n]*", pdf)
