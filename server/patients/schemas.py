"""What a patient (就诊人) looks like on the wire: the seed 2.2 form in, a masked view out.

Shapes and enumerations are refused here with a 422 before anything runs; rules that need other fields or the
database (check digits, sex agreeing with the ID, the HIS card) live in ``service``.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field, model_validator

from server.errors import AppError
from server.timeutil import today
from server.validation import CardNoStr, CardType, IdNumberStr, IdType, Sex

Kind = Literal["returning", "first_visit"]
MaritalStatus = Literal["unmarried", "married", "divorced", "widowed", "other"]
MARITAL_STATUS_LABELS = {"unmarried": "未婚", "married": "已婚", "divorced": "离异", "widowed": "丧偶",
                         "other": "其他"}
Relation = Literal["self", "parent", "child", "spouse", "sibling", "grandparent", "grandchild",
                   "other_relative", "friend", "other"]
RELATION_LABELS = {"self": "本人", "parent": "父母", "child": "子女", "spouse": "配偶",
                   "sibling": "兄弟姐妹", "grandparent": "祖父母/外祖父母",
                   "grandchild": "孙子女/外孙子女", "other_relative": "其他亲属", "friend": "朋友",
                   "other": "其他"}
VisitType = Literal["self_pay", "beijing_insurance", "other_region_insurance", "commercial_insurance",
                    "other"]
VISIT_TYPE_LABELS = {"self_pay": "自费", "beijing_insurance": "北京医保",
                     "other_region_insurance": "异地医保", "commercial_insurance": "商业保险",
                     "other": "其他"}

# GB 3304 order, then the two further entries used on Chinese registration forms
ETHNICITIES = (
    "汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族",
    "满族", "侗族", "瑶族", "白族", "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族",
    "佤族", "畲族", "高山族", "拉祜族", "水族", "东乡族", "纳西族", "景颇族", "柯尔克孜族", "土族",
    "达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族", "毛南族", "仡佬族", "锡伯族", "阿昌族",
    "普米族", "塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族", "保安族", "裕固族",
    "京族", "塔塔尔族", "独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族", "基诺族",
    "其他", "外国血统中国籍人士",
)
Ethnicity = Literal[ETHNICITIES]  # type: ignore[valid-type]

# text a person types: surrounding blanks dropped, no control characters
_TEXT = r"^[^\x00-\x1f\x7f]*$"


def _text(max_length: int, *, min_length: int = 0) -> Any:
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length,
                                            max_length=max_length, pattern=_TEXT)]


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32,
                                        pattern=r"^[^\x00-\x1f\x7f0-9<>]+$")]
Region = _text(64)
Address = _text(200)
FileRef = Annotated[int, Field(ge=1, le=2**53)]
# optional contact fields: empty means "none"
ContactIdNumber = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True,
                                                   pattern=r"^([0-9]{17}[0-9Xx])?$")]
ContactMobile = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^(1[3-9][0-9]{9})?$")]
SmsCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6}$")]


class PatientDetails(BaseModel):
    """The details page of seed 2.2 (是否专程来京 … 与本人关系): the same for both kinds, editable later."""

    came_to_beijing: bool = Field(False, description="是否专程来京")
    residence_region: Region = Field("", description="现居住地 (province / city / district)")
    residence_address: Address = Field("", description="现居住详细地址")
    beijing_region: Region = Field("", description="在京地址 (district)")
    beijing_address: Address = Field("", description="在京详细地址")
    visit_type: VisitType = Field("self_pay", description="就诊类型: " + ", ".join(
        f"{k}={v}" for k, v in VISIT_TYPE_LABELS.items()))
    employer: _text(100) = Field("", description="工作单位")
    contact_name: _text(32) = Field("", description="联系人")
    contact_id_number: ContactIdNumber = Field("", description="联系人身份证 (居民身份证号码)")
    contact_mobile: ContactMobile = Field("", description="联系人手机号码")
    occupation: _text(32) = Field("", description="职业")
    marital_status: MaritalStatus | None = Field(None, description="婚姻状况: " + ", ".join(
        f"{k}={v}" for k, v in MARITAL_STATUS_LABELS.items()))
    relation: Relation = Field("self", description="与本人关系 (to the account holder): " + ", ".join(
        f"{k}={v}" for k, v in RELATION_LABELS.items()))


class PatientCreate(PatientDetails):
    """Adding a patient: ``returning`` (在本院就诊过: a hospital or insurance card known to the HIS is
    required) or ``first_visit`` (首次就诊: with sex, nationality and ethnicity, no card needed). ``code`` is
    the SMS code of purpose ``add_patient`` sent to the account's registered number."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    name: Name = Field(description="姓名, as on the ID document")
    id_type: IdType = Field(description="证件类型")
    id_number: IdNumberStr = Field(description="证件号码")
    card_type: CardType | None = Field(None, description="卡类别: hospital=就诊卡, insurance=医保卡")
    card_no: CardNoStr | None = Field(None, description="卡号")
    sex: Sex | None = Field(None, description="性别; derived from a resident ID number (must agree if given)")
    nationality: _text(32, min_length=1) = Field("中国", description="国籍")
    ethnicity: Ethnicity | None = Field(None, description="民族 (first visit, Chinese nationals)")
    id_front_file_id: FileRef | None = Field(None, description="ID photo, front (file of purpose id_photo)")
    id_back_file_id: FileRef | None = Field(None, description="ID photo, back (file of purpose id_photo)")
    code: SmsCode = Field(description="SMS code (purpose add_patient) sent to the account's mobile")


# what a PATCH may never touch: identity is fixed once the SMS check and the HIS match have been done
NOT_EDITABLE = frozenset({"kind", "name", "id_type", "id_number", "sex", "birth_date", "nationality",
                          "ethnicity", "card_type", "card_no", "code", "id", "account_id"})


class PatientUpdate(BaseModel):
    """Changing a patient's details, contact, addresses and ID photos; absent or null fields stay as they are.

    Name, ID type and number, sex, nationality, ethnicity, kind and card are fixed: remove the patient and add
    them again to change those.
    """

    model_config = ConfigDict(extra="forbid")

    came_to_beijing: bool | None = None
    residence_region: Region | None = None
    residence_address: Address | None = None
    beijing_region: Region | None = None
    beijing_address: Address | None = None
    visit_type: VisitType | None = None
    employer: _text(100) | None = None
    contact_name: _text(32) | None = None
    contact_id_number: ContactIdNumber | None = Field(None, description="empty string removes it")
    contact_mobile: ContactMobile | None = Field(None, description="empty string removes it")
    occupation: _text(32) | None = None
    marital_status: MaritalStatus | None = None
    relation: Relation | None = None
    id_front_file_id: FileRef | None = None
    id_back_file_id: FileRef | None = None

    @model_validator(mode="before")
    @classmethod
    def _refuse_identity(cls, data: Any) -> Any:
        if isinstance(data, dict):
            fixed = sorted(k for k in data if k in NOT_EDITABLE)
            if fixed:
                # a specific, stable code rather than a generic "extra field" validation error
                raise AppError("field_not_editable",
                               "姓名、证件、性别、国籍、民族、就诊卡等身份信息不能修改；"
                               "如需更正，请删除该就诊人后重新添加", status=422, details={"fields": fixed})
        return data


class PatientPublic(BaseModel):
    """A patient as the account holder sees it: never the full ID number of the patient or the contact."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: Kind
    name: str
    sex: str
    birth_date: dt.date | None
    nationality: str
    ethnicity: str
    id_type: str
    id_number_masked: str
    card_type: str | None
    card_no: str | None
    id_front_file_id: int | None
    id_back_file_id: int | None
    came_to_beijing: bool
    residence_region: str
    residence_address: str
    beijing_region: str
    beijing_address: str
    visit_type: str
    employer: str
    contact_name: str
    contact_id_number_masked: str
    contact_mobile: str
    occupation: str
    marital_status: str
    relation: str
    created_at: dt.datetime
    updated_at: dt.datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def age(self) -> int | None:
        """Full years today, when the birth date is known."""
        if self.birth_date is None:
            return None
        t = today()
        born = self.birth_date
        return t.year - born.year - ((t.month, t.day) < (born.month, born.day))
