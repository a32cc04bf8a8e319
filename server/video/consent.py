"""The prescription consent text (处方知情同意书) the patient agrees to before the doctor prescribes online.

Each published version stays here unchanged: a request names the version it showed, and the patient's answer
is recorded against that text. A changed text is a new version with a new number; ``CURRENT_VERSION`` is what
new requests ask for.
"""
from __future__ import annotations

TEXTS: dict[int, str] = {
    1: (
        "互联网医院在线复诊处方知情同意书\n"
        "1. 本人确认：本次在线复诊的就诊人此前已在本院线下门诊就诊并确诊，本次为相同疾病的复诊，"
        "所述病情与上传的检验检查资料真实、完整。\n"
        "2. 本人知悉：在线复诊无法进行当面查体，医生仅依据视频问诊和本人提供的资料开具处方；"
        "如病情发生变化或出现新的症状，应及时到医院线下就诊，必要时立即前往急诊。\n"
        "3. 本人同意医生为就诊人开具电子处方。处方经药师审核后生效，并通过短信通知；"
        "处方在有效期内可选择就近药店取药或送药上门，逾期自动失效。\n"
        "4. 本人将按医嘱和药品说明书用药，用药期间如有不适，将立即停药并及时就医。\n"
        "5. 本人知悉：互联网医院不开具麻醉药品、精神药品等特殊管理药品的处方。"
    ),
}
CURRENT_VERSION = max(TEXTS)


def text_of(version: int) -> str:
    return TEXTS[version]
