"""Static demo data: departments, doctors, the revisit notice and the HIS patients.

Pure data and pure helpers only (no database, no settings), so that both ``clinic-server demo-data`` and the
simulator (which must stay an outside client of the HTTP API) can import it. Names are invented. The drug
catalogue is not demo data: it is the formulary in resources/catalogues/drugs.csv (server/prescriptions).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from stdnum.cn import ric

# ---------------------------------------------------------------------------------------------- departments


@dataclass(frozen=True, slots=True)
class DemoDepartment:
    code: str
    name: str
    introduction: str


DEPARTMENTS: tuple[DemoDepartment, ...] = (
    DemoDepartment("bone_tumor", "骨肿瘤科",
                   "骨肿瘤科主要诊治原发恶性骨肿瘤（骨肉瘤、软骨肉瘤、尤文肉瘤等）、良性骨肿瘤及瘤样病变、"
                   "骨转移瘤和软组织肿瘤，擅长保肢手术、肿瘤型人工关节置换与术后综合治疗。"
                   "互联网医院为术后及化疗后患者提供复诊、复查结果解读与续方服务。"),
    DemoDepartment("neurology", "神经内科",
                   "神经内科诊治脑血管病、帕金森病及运动障碍疾病、癫痫、头痛、痴呆、周围神经病、"
                   "重症肌无力和睡眠障碍等疾病。互联网医院为病情稳定的慢病患者提供在线复诊、"
                   "用药调整与长期随访。"),
    DemoDepartment("endocrinology", "内分泌科",
                   "内分泌科诊治糖尿病及其并发症、甲状腺疾病、骨质疏松、痛风与高尿酸血症、"
                   "肾上腺及垂体疾病等。互联网医院为复诊患者提供血糖血脂管理、甲功复查解读和慢病续方。"),
    DemoDepartment("hematology", "血液科",
                   "血液科诊治各类贫血、白血病、淋巴瘤、多发性骨髓瘤、骨髓增生异常综合征、"
                   "血小板减少及出凝血疾病，具有造血干细胞移植的丰富经验。互联网医院为维持治疗期和"
                   "移植后随访患者提供复诊与用药指导。"),
)

# ---------------------------------------------------------------------------------------------------- doctors

TITLE_FEES_FEN: dict[str, int] = {"主任医师": 5000, "副主任医师": 3000, "主治医师": 2000}


@dataclass(frozen=True, slots=True)
class DemoDoctor:
    department_code: str
    name: str
    title: str
    specialty: str
    introduction: str
    # 主治医师 keep the online night and noon clinics every day, so any hour has an open check-in window
    night_clinic: bool = False

    @property
    def fee_fen(self) -> int:
        return TITLE_FEES_FEN[self.title]


DOCTORS: tuple[DemoDoctor, ...] = (
    DemoDoctor("bone_tumor", "李建国", "主任医师", "骨肉瘤、软骨肉瘤的保肢手术与综合治疗",
               "从事骨与软组织肿瘤临床工作三十余年，完成保肢手术两千余例，擅长骨盆及骶骨肿瘤的切除与重建。"),
    DemoDoctor("bone_tumor", "王海涛", "副主任医师", "脊柱肿瘤、骨转移瘤的手术与疼痛管理",
               "擅长脊柱原发及转移性肿瘤的手术治疗，对骨转移瘤的多学科综合治疗和癌痛规范化管理有丰富经验。"),
    DemoDoctor("bone_tumor", "陈晓峰", "主治医师", "良性骨肿瘤及瘤样病变、术后随访",
               "主要从事骨巨细胞瘤、骨囊肿、内生软骨瘤等良性病变的诊治，以及恶性骨肿瘤术后的长期随访。",
               night_clinic=True),
    DemoDoctor("neurology", "张秀兰", "主任医师", "脑血管病、帕金森病",
               "长期从事脑血管病的预防与康复、帕金森病及其他运动障碍疾病的诊治，主持多项临床研究。"),
    DemoDoctor("neurology", "刘志强", "副主任医师", "癫痫、头痛",
               "擅长难治性癫痫的药物调整、偏头痛等慢性头痛的规范化治疗，以及视频脑电图的判读。"),
    DemoDoctor("neurology", "赵静", "主治医师", "周围神经病、睡眠障碍",
               "主要诊治糖尿病周围神经病、吉兰-巴雷综合征恢复期、失眠及不宁腿综合征等疾病。",
               night_clinic=True),
    DemoDoctor("endocrinology", "孙丽华", "主任医师", "糖尿病及其并发症",
               "从事内分泌代谢病临床工作近三十年，擅长糖尿病个体化治疗、胰岛素泵应用及糖尿病足的综合管理。"),
    DemoDoctor("endocrinology", "周文斌", "副主任医师", "甲状腺疾病",
               "擅长甲状腺功能亢进、甲状腺功能减退、桥本甲状腺炎及甲状腺结节的诊治与随访。"),
    DemoDoctor("endocrinology", "吴敏", "主治医师", "骨质疏松、肥胖与代谢综合征",
               "主要诊治原发及继发性骨质疏松、痛风与高尿酸血症、肥胖症，注重生活方式干预。",
               night_clinic=True),
    DemoDoctor("hematology", "黄志明", "主任医师", "白血病、造血干细胞移植",
               "长期从事急慢性白血病的诊治和异基因造血干细胞移植，擅长移植后并发症的处理与长期随访。"),
    DemoDoctor("hematology", "徐红梅", "副主任医师", "淋巴瘤、多发性骨髓瘤",
               "擅长淋巴瘤、多发性骨髓瘤的化疗、靶向及免疫治疗，以及维持治疗期的用药管理。"),
    DemoDoctor("hematology", "马丽娜", "主治医师", "贫血、血小板减少症",
               "主要诊治缺铁性贫血、巨幼细胞贫血、再生障碍性贫血和免疫性血小板减少症。",
               night_clinic=True),
)

# ------------------------------------------------------------------------------------------------ schedules

SLOT_CHECKIN_OPENS_MIN = 30  # mirrors the service default (settings.checkin_opens_minutes_before)
SLOT_CHECKIN_CLOSES_MIN = 30  # mirrors settings.checkin_closes_minutes_after


@dataclass(frozen=True, slots=True)
class DemoSession:
    """One clinic session of a day (schedules are cut in whole slots, so 17:30–23:59 ends at 23:30)."""

    label: str
    start: dt.time
    end: dt.time
    slot_minutes: int
    online_clinic: bool  # the night/noon/evening online clinic, not a regular session


SESSIONS: tuple[DemoSession, ...] = (
    DemoSession("凌晨在线门诊", dt.time(0, 0), dt.time(8, 0), 30, True),
    DemoSession("上午门诊", dt.time(8, 0), dt.time(12, 0), 15, False),
    DemoSession("午间在线门诊", dt.time(12, 0), dt.time(14, 0), 30, True),
    DemoSession("下午门诊", dt.time(14, 0), dt.time(17, 30), 15, False),
    DemoSession("夜间在线门诊", dt.time(17, 30), dt.time(23, 59), 30, True),
)

# -------------------------------------------------------------------------------------------------- notice

NOTICE_VERSION = 1
NOTICE_TITLE = "互联网医院在线复诊须知"
NOTICE_BODY = """\
欢迎使用北京大学人民医院互联网医院在线复诊服务。为保障您的就医安全，请在预约前仔细阅读以下须知：

一、复诊范围
1. 在线复诊仅面向复诊患者：就诊人须在六个月内于本院骨肿瘤科、神经内科、内分泌科或血液科有门诊就诊记录，且本次复诊科室与既往就诊科室一致。
2. 首次就诊、病情发生明显变化或需要当面查体、急危重症的患者，请勿使用在线复诊，请及时到医院线下就诊或拨打120。

二、就诊前准备
1. 请提前准备好六个月内的就诊资料，例如门诊病历、检验检查报告、影像资料（CT、磁共振、X光片等）及目前用药清单。
2. 签到后需填写病情描述并上传相关资料，以便医生更详细地了解您的病情。资料越完整，医生判断越准确。
3. 请确保手机网络通畅，并允许小程序使用摄像头和麦克风。

三、预约、签到与候诊
1. 选择科室、医生和复诊时间，确认科室、医生及诊费无误后提交并支付诊费，预约方为成功；提交后请在规定时间内完成支付，超时未支付号源将自动释放。
2. 系统会在复诊时间前以短信提醒您。请在预约时间前后30分钟内点击【复诊签到】，逾期未签到视为爽约。
3. 签到并提交病情描述后，请留在候诊页面等待医生发起视频通话，不可退出小程序，否则将接收不到医生的视频邀请。如中途断线，医生会再次发起视频邀请。

四、处方与取药
1. 医生根据病情在线开具处方，需经您同意并由药师审核后生效。处方开具后您会收到取药通知短信，可选择就近药店取药或送药上门，并支付药品费用。
2. 麻醉药品、第一类精神药品等特殊管理药品不在互联网医院开具。

五、退费规则
1. 未到预约时间：可在【我的问诊】中取消预约，确认后系统自动退费。
2. 已过预约时间仍未复诊：可在复诊详情中【申请退号】并填写原因，经医院审核同意后退费。
3. 也可到医院收费窗口申请退费，窗口同意后按原路退还。
4. 医生停诊或号源无法使用时，系统将自动退号退费。
5. 退费按付款路径原路退回，一般在1-15个工作日内到账；退费进行中显示【退费中】，退费完毕显示【已退费】。

六、其他
1. 请如实填写就诊人信息和病情，因信息不实造成的后果由本人承担。
2. 诊疗结束后欢迎对本次服务进行评价，您的意见是我们改进的动力。

点击【我同意】即表示您已阅读并同意以上须知。"""

# ------------------------------------------------------------------------------------------- HIS patients


@dataclass(frozen=True, slots=True)
class DemoVisit:
    department_code: str
    days_ago: int  # relative to today, so the demo stays within the six-month eligibility window
    doctor_name: str
    diagnosis: str


@dataclass(frozen=True, slots=True)
class DemoPatient:
    """A returning patient known to the hospital's HIS: the simulator adds them and books in their department."""

    name: str
    sex: str  # male | female
    birth_date: dt.date
    id_number: str
    hospital_card: str | None
    insurance_card: str | None
    residence_region: str
    residence_address: str
    occupation: str
    marital_status: str
    visits: tuple[DemoVisit, ...]

    @property
    def card(self) -> tuple[str, str]:
        """The card the patient binds when added (seed 2.2.1): the hospital card, else the insurance card."""
        if self.hospital_card:
            return "hospital", self.hospital_card
        assert self.insurance_card
        return "insurance", self.insurance_card

    @property
    def department_codes(self) -> tuple[str, ...]:
        seen: list[str] = []
        for v in self.visits:
            if v.department_code not in seen:
                seen.append(v.department_code)
        return tuple(seen)


def make_id_number(region: str, birth: dt.date, seq: int, *, male: bool) -> str:
    """A resident ID number (GB 11643): region, birth date, an order code whose parity is the sex, check digit."""
    if seq % 2 != (1 if male else 0):
        seq += 1
    base = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
    return base + ric.calc_check_digit(base + "0")


# region code of the ID number -> (current residence region, a street address there)
REGIONS: dict[str, tuple[str, str]] = {
    "110101": ("北京市 东城区", "东四北大街107号"), "110102": ("北京市 西城区", "西直门南大街11号院"),
    "110105": ("北京市 朝阳区", "朝阳北路199号"), "110106": ("北京市 丰台区", "丰台北路18号院"),
    "110107": ("北京市 石景山区", "鲁谷大街45号"), "110108": ("北京市 海淀区", "学院路38号"),
    "110109": ("北京市 门头沟区", "新桥大街28号"), "120101": ("天津市 和平区", "南京路100号"),
    "120103": ("天津市 河西区", "友谊路30号"), "120104": ("天津市 南开区", "鞍山西道66号"),
    "310104": ("上海市 徐汇区", "漕溪北路88号"), "310105": ("上海市 长宁区", "延安西路1118号"),
    "130100": ("河北省 石家庄市", "中山东路66号"), "370100": ("山东省 济南市", "泉城路18号"),
    "410100": ("河南省 郑州市", "金水路120号"), "210102": ("辽宁省 沈阳市", "中华路55号"),
}

# (name, sex, birth, region, order code, occupation, marital, visits); visits: (department, days ago, diagnosis)
_PATIENT_ROWS: tuple[tuple[str, str, str, str, int, str, str, tuple[tuple[str, int, str], ...]], ...] = (
    ("张伟", "male", "1968-03-14", "110108", 31, "工程师", "已婚",
     (("neurology", 42, "脑梗死恢复期"), ("neurology", 118, "脑梗死"))),
    ("王芳", "female", "1975-07-02", "110105", 24, "教师", "已婚",
     (("endocrinology", 35, "2型糖尿病"),)),
    ("李娜", "female", "1982-11-23", "110102", 66, "会计", "已婚",
     (("endocrinology", 20, "甲状腺功能亢进症"), ("endocrinology", 96, "甲状腺功能亢进症"))),
    ("刘洋", "male", "1995-05-09", "110106", 13, "学生", "未婚",
     (("bone_tumor", 28, "左股骨远端骨肉瘤术后"), ("bone_tumor", 84, "左股骨远端骨肉瘤化疗后"))),
    ("陈静", "female", "1960-01-30", "110101", 42, "退休", "已婚",
     (("hematology", 15, "免疫性血小板减少症"),)),
    ("杨帆", "male", "1988-09-17", "120101", 57, "销售", "已婚",
     (("neurology", 60, "癫痫"), ("neurology", 140, "癫痫"))),
    ("赵丽", "female", "1971-04-05", "110109", 38, "公务员", "已婚",
     (("endocrinology", 75, "桥本甲状腺炎"), ("hematology", 50, "缺铁性贫血"))),
    ("黄勇", "male", "1955-12-12", "110107", 19, "退休", "已婚",
     (("hematology", 33, "多发性骨髓瘤"), ("hematology", 89, "多发性骨髓瘤维持治疗"))),
    ("周敏", "female", "1990-06-21", "120104", 82, "护士", "未婚",
     (("neurology", 12, "偏头痛"),)),
    ("吴强", "male", "1963-08-08", "130100", 71, "个体经营", "已婚",
     (("bone_tumor", 45, "肺癌骨转移"), ("bone_tumor", 110, "脊柱转移瘤"))),
    ("徐娟", "female", "1984-02-27", "310105", 26, "职员", "已婚",
     (("hematology", 22, "缺铁性贫血"),)),
    ("孙涛", "male", "1979-10-15", "370100", 93, "司机", "已婚",
     (("endocrinology", 55, "痛风"), ("endocrinology", 130, "高尿酸血症"))),
    ("胡艳", "female", "1966-05-19", "110108", 48, "退休", "已婚",
     (("endocrinology", 18, "骨质疏松症"),)),
    ("朱军", "male", "1950-03-03", "110102", 15, "退休", "丧偶",
     (("neurology", 25, "帕金森病"), ("neurology", 86, "帕金森病"), ("neurology", 147, "帕金森病"))),
    ("高磊", "male", "2001-07-29", "110105", 37, "学生", "未婚",
     (("bone_tumor", 38, "右胫骨近端骨巨细胞瘤术后"),)),
    ("林小红", "female", "1993-12-01", "310104", 64, "设计师", "未婚",
     (("hematology", 47, "弥漫大B细胞淋巴瘤化疗后"), ("hematology", 102, "弥漫大B细胞淋巴瘤"))),
    ("何平", "male", "1958-09-25", "110106", 29, "退休", "已婚",
     (("endocrinology", 30, "2型糖尿病伴周围神经病变"), ("neurology", 70, "糖尿病周围神经病"))),
    ("郭雪梅", "female", "1969-11-11", "120103", 52, "医生", "已婚",
     (("neurology", 63, "失眠症"),)),
    ("马超", "male", "1986-04-18", "110109", 77, "程序员", "已婚",
     (("hematology", 40, "慢性髓系白血病"), ("hematology", 125, "慢性髓系白血病"))),
    ("罗琴", "female", "1977-08-30", "410100", 86, "农民", "已婚",
     (("bone_tumor", 52, "骨软骨瘤术后"),)),
    ("梁建华", "male", "1961-02-14", "110101", 23, "退休", "已婚",
     (("endocrinology", 14, "2型糖尿病"), ("endocrinology", 74, "2型糖尿病"), ("endocrinology", 134, "高脂血症"))),
    ("宋佳", "female", "1998-10-03", "310105", 44, "学生", "未婚",
     (("neurology", 33, "偏头痛"),)),
    ("郑国庆", "male", "1949-10-01", "110107", 11, "退休", "已婚",
     (("hematology", 26, "骨髓增生异常综合征"), ("hematology", 81, "骨髓增生异常综合征"))),
    ("谢婷", "female", "1987-03-22", "120104", 58, "银行职员", "已婚",
     (("endocrinology", 48, "甲状腺功能减退症"),)),
    ("韩冬", "male", "1992-01-16", "210102", 35, "工人", "未婚",
     (("bone_tumor", 19, "尤文肉瘤化疗后"), ("bone_tumor", 77, "尤文肉瘤"))),
    ("唐秀英", "female", "1952-06-06", "110108", 72, "退休", "丧偶",
     (("neurology", 57, "阿尔茨海默病"), ("neurology", 121, "轻度认知障碍"))),
    ("冯志刚", "male", "1973-05-28", "110105", 99, "律师", "已婚",
     (("neurology", 16, "短暂性脑缺血发作"),)),
    ("于晓燕", "female", "1980-09-09", "110102", 18, "编辑", "已婚",
     (("hematology", 61, "再生障碍性贫血"), ("hematology", 137, "再生障碍性贫血"))),
    ("董浩", "male", "1965-12-24", "110106", 45, "厨师", "已婚",
     (("bone_tumor", 67, "软骨肉瘤术后复查"),)),
    ("萧红霞", "female", "1958-04-12", "110109", 62, "退休", "已婚",
     (("endocrinology", 39, "骨质疏松症"), ("bone_tumor", 92, "骨质疏松性椎体压缩骨折"))),
    ("程鹏", "male", "1983-07-07", "310105", 81, "教师", "已婚",
     (("neurology", 27, "重症肌无力"), ("neurology", 88, "重症肌无力"))),
    ("曹丽", "female", "1970-02-19", "110101", 36, "职员", "离异",
     (("hematology", 54, "真性红细胞增多症"),)),
    ("袁斌", "male", "1976-11-30", "120101", 21, "工程师", "已婚",
     (("endocrinology", 23, "2型糖尿病"), ("endocrinology", 99, "2型糖尿病"))),
    ("邓雅琴", "female", "1996-08-14", "110108", 54, "研究生", "未婚",
     (("bone_tumor", 31, "内生软骨瘤"),)),
    ("许文博", "male", "1954-01-08", "110105", 17, "退休", "已婚",
     (("hematology", 44, "淋巴瘤维持治疗"), ("neurology", 105, "周围神经病"))),
    ("傅晓梅", "female", "1962-10-26", "110107", 28, "退休", "已婚",
     (("neurology", 21, "脑梗死恢复期"),)),
    ("沈立新", "male", "1967-06-18", "120104", 65, "经理", "已婚",
     (("endocrinology", 66, "甲状腺结节"), ("endocrinology", 143, "甲状腺功能亢进症"))),
    ("曾慧", "female", "1985-12-09", "370100", 46, "会计", "已婚",
     (("hematology", 29, "缺铁性贫血"), ("hematology", 94, "缺铁性贫血"))),
    ("彭志远", "male", "1999-03-31", "110106", 53, "学生", "未婚",
     (("bone_tumor", 24, "右肱骨近端骨囊肿"),)),
    ("吕桂兰", "female", "1948-07-20", "110102", 34, "退休", "丧偶",
     (("endocrinology", 37, "2型糖尿病"), ("neurology", 79, "脑梗死后遗症"))),
)

_DEPT_DOCTORS: dict[str, tuple[str, ...]] = {}
for _d in DOCTORS:
    _DEPT_DOCTORS.setdefault(_d.department_code, ())
    _DEPT_DOCTORS[_d.department_code] += (_d.name,)


def _build_patients() -> tuple[DemoPatient, ...]:
    out = []
    for i, (name, sex, birth, region, seq, occupation, marital, visits) in enumerate(_PATIENT_ROWS):
        born = dt.date.fromisoformat(birth)
        hospital = f"H{100230000 + i * 7919:09d}" if i % 5 != 4 else None  # every fifth binds insurance only
        insurance = f"{region[:2]}{(30000000 + i * 104729) % 100000000:08d}A" if i % 3 != 1 or hospital is None \
            else None
        doctors = [_DEPT_DOCTORS[dep][(i + k) % 3] for k, (dep, _ago, _dx) in enumerate(visits)]
        out.append(DemoPatient(
            name=name, sex=sex, birth_date=born,
            id_number=make_id_number(region, born, seq, male=sex == "male"),
            hospital_card=hospital, insurance_card=insurance,
            residence_region=REGIONS[region][0], residence_address=REGIONS[region][1],
            occupation=occupation, marital_status=marital,
            visits=tuple(DemoVisit(dep, ago, doc, dx) for (dep, ago, dx), doc in zip(visits, doctors)),
        ))
    return tuple(out)


DEMO_HIS_PATIENTS: tuple[DemoPatient, ...] = _build_patients()

# ----------------------------------------------------------------------------------------------- complaints

COMPLAINTS: dict[str, tuple[str, ...]] = {
    "bone_tumor": (
        "术后半年复查，伤口愈合良好，近两周活动后大腿仍有轻度酸胀，无发热，想请医生看一下最新的复查片子。",
        "化疗结束三个月，近期夜间偶有骨痛，止痛药效果尚可，请医生评估是否需要调整用药。",
        "保肢术后一年，行走时膝关节有弹响，偶有疼痛，已做X光检查，请医生看结果。",
        "骨转移瘤放疗后复诊，腰背痛较前减轻，食欲一般，想咨询下一步治疗和止痛药续方。",
    ),
    "neurology": (
        "脑梗死后三个月，右手握力较前好转，仍有言语稍慢，血压控制在130/80左右，想续开阿司匹林和他汀。",
        "癫痫规律服药，近两个月发作一次，持续约一分钟，想请医生评估是否需要调整药量。",
        "偏头痛近一个月发作4次，每次持续半天，伴恶心，服止痛药可缓解，想咨询预防用药。",
        "帕金森病服用美多芭，近来药效维持时间变短，下午手抖明显，请医生调整用药方案。",
        "入睡困难一个多月，每晚只能睡4小时左右，白天乏力，想请医生看看怎么调整。",
    ),
    "endocrinology": (
        "2型糖尿病，空腹血糖近期在8-9mmol/L，餐后在12左右，糖化血红蛋白7.8%，请医生调整降糖方案。",
        "甲亢服用甲巯咪唑三个月，心慌明显好转，上周复查甲功，请医生看结果决定是否减量。",
        "甲减服用优甲乐，最近容易疲劳、怕冷，复查TSH偏高，想咨询剂量是否需要增加。",
        "痛风近一个月未发作，尿酸降到380μmol/L，想续开非布司他并咨询饮食注意事项。",
        "骨质疏松治疗一年，复查骨密度T值-2.6，腰背痛减轻，想咨询是否继续用药。",
    ),
    "hematology": (
        "缺铁性贫血口服铁剂两个月，乏力好转，复查血红蛋白升至110g/L，请医生看看是否继续服药。",
        "血小板减少症，近期复查血小板52×10^9/L，牙龈偶有出血，想请医生评估用药。",
        "慢性髓系白血病服用伊马替尼一年，近期复查BCR-ABL，请医生解读结果并续方。",
        "淋巴瘤化疗结束后维持治疗中，偶有低热和夜间出汗，附上最新血常规，请医生看看。",
        "多发性骨髓瘤维持治疗，近期腰痛加重，复查M蛋白，请医生评估病情。",
    ),
}

REPORT_TITLES: dict[str, tuple[str, ...]] = {
    "bone_tumor": ("X线检查报告", "CT检查报告", "碱性磷酸酶化验单"),
    "neurology": ("头颅磁共振报告", "脑电图报告", "血脂化验单"),
    "endocrinology": ("糖化血红蛋白化验单", "甲状腺功能化验单", "骨密度检查报告"),
    "hematology": ("血常规化验单", "骨髓穿刺报告", "凝血功能化验单"),
}
