"""Write ``resources/icd10/icd10.csv``: the ICD-10 subset shipped with the workstation's diagnosis picker, and
``resources/icd10/hanzi_initials.txt``: the pinyin initial of every CJK Unified Ideograph, for the name filter.

The codes and Chinese names are those of the Chinese edition of ICD-10 (GB/T 14396, as used in the national
clinical and medical-insurance code sets at the four-character level), chosen for the four online departments:
骨肿瘤科 (bone_tumor), 神经内科 (neurology), 内分泌科 (endocrinology), 血液科 (hematology). Dagger/asterisk
codes are written without their mark. Pinyin initials are computed here with pypinyin (with word context, so
糖尿病 is ``tnb``), so the workstation does not pay for it at start-up. The initials table holds one letter per
character U+4E00–U+9FFF (``_`` for none), each character's first reading in pypinyin's dictionary.

Run: ``.venv/bin/python scripts/make_icd10.py`` (rewrites the file; the output is deterministic).
"""
from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workstation.models.pinyin import (
    CJK_FIRST,
    CJK_LAST,
    NO_INITIAL,
    TABLE_PATH,
    phrase_initials,
    pypinyin_initial,
)

OUT = ROOT / "resources" / "icd10" / "icd10.csv"
CODE = re.compile(r"^[A-Z][0-9]{2}(\.[0-9]{1,2})?$")  # what the server accepts (server/consultation/schemas.py)

# code | name | departments (;-separated)
DATA = """
C40.0|肩胛骨和上肢长骨恶性肿瘤|bone_tumor
C40.1|上肢短骨恶性肿瘤|bone_tumor
C40.2|下肢长骨恶性肿瘤|bone_tumor
C40.3|下肢短骨恶性肿瘤|bone_tumor
C40.8|四肢骨和关节软骨交搭跨越恶性肿瘤的损害|bone_tumor
C40.9|未特指的四肢骨和关节软骨恶性肿瘤|bone_tumor
C41.0|颅骨和面骨恶性肿瘤|bone_tumor
C41.1|下颌骨恶性肿瘤|bone_tumor
C41.2|脊柱恶性肿瘤|bone_tumor
C41.3|肋骨、胸骨和锁骨恶性肿瘤|bone_tumor
C41.4|骨盆骨、骶骨和尾骨恶性肿瘤|bone_tumor
C41.8|骨和关节软骨交搭跨越恶性肿瘤的损害|bone_tumor
C41.9|未特指的骨和关节软骨恶性肿瘤|bone_tumor
C49.0|头、面和颈部结缔组织和软组织恶性肿瘤|bone_tumor
C49.1|上肢（包括肩）结缔组织和软组织恶性肿瘤|bone_tumor
C49.2|下肢（包括髋）结缔组织和软组织恶性肿瘤|bone_tumor
C49.3|胸部结缔组织和软组织恶性肿瘤|bone_tumor
C49.4|腹部结缔组织和软组织恶性肿瘤|bone_tumor
C49.5|骨盆结缔组织和软组织恶性肿瘤|bone_tumor
C49.6|未特指的躯干结缔组织和软组织恶性肿瘤|bone_tumor
C49.9|未特指的结缔组织和软组织恶性肿瘤|bone_tumor
C78.0|肺继发性恶性肿瘤|bone_tumor
C79.3|脑和脑膜继发性恶性肿瘤|neurology
C79.5|骨和骨髓继发性恶性肿瘤|bone_tumor;hematology
D16.0|肩胛骨和上肢长骨良性肿瘤|bone_tumor
D16.1|上肢短骨良性肿瘤|bone_tumor
D16.2|下肢长骨良性肿瘤|bone_tumor
D16.3|下肢短骨良性肿瘤|bone_tumor
D16.4|颅骨和面骨良性肿瘤|bone_tumor
D16.5|下颌骨良性肿瘤|bone_tumor
D16.6|脊柱良性肿瘤|bone_tumor
D16.7|肋骨、胸骨和锁骨良性肿瘤|bone_tumor
D16.8|骨盆骨、骶骨和尾骨良性肿瘤|bone_tumor
D16.9|未特指的骨和关节软骨良性肿瘤|bone_tumor
D21.1|上肢（包括肩）结缔组织和其他软组织良性肿瘤|bone_tumor
D21.2|下肢（包括髋）结缔组织和其他软组织良性肿瘤|bone_tumor
D21.9|未特指的结缔组织和其他软组织良性肿瘤|bone_tumor
D48.0|骨和关节软骨动态未定或动态未知的肿瘤|bone_tumor
D48.1|结缔组织和其他软组织动态未定或动态未知的肿瘤|bone_tumor
M25.5|关节痛|bone_tumor
M79.6|肢体痛|bone_tumor
M84.1|骨折不连接［假关节］|bone_tumor
M84.4|病理性骨折，不可归类在他处者|bone_tumor
M85.4|孤立性骨囊肿|bone_tumor
M85.5|动脉瘤样骨囊肿|bone_tumor
M85.6|其他骨囊肿|bone_tumor
M86.9|未特指的骨髓炎|bone_tumor
M88.9|未特指的骨佩吉特病［畸形性骨炎］|bone_tumor
M89.5|骨质溶解|bone_tumor
M89.8|其他特指的骨疾患|bone_tumor
M89.9|未特指的骨疾患|bone_tumor
Q78.1|多骨性纤维性结构不良|bone_tumor
Q78.4|内生软骨瘤病|bone_tumor
Q78.6|先天性多发性外生骨疣|bone_tumor
T84.0|内部关节假体的机械性并发症|bone_tumor
Z08.0|恶性肿瘤手术后的随诊检查|bone_tumor;hematology
Z08.2|恶性肿瘤化学治疗后的随诊检查|bone_tumor;hematology
Z51.1|为肿瘤化学治疗疗程|bone_tumor;hematology
Z85.8|其他器官和系统恶性肿瘤个人史|bone_tumor
Z96.6|存在矫形外科关节植入物|bone_tumor
G12.2|运动神经元病|neurology
G20|帕金森病|neurology
G21.1|其他药物性继发性帕金森综合征|neurology
G21.9|未特指的继发性帕金森综合征|neurology
G23.1|进行性核上性眼肌麻痹［斯蒂尔-里查森-奥尔谢夫斯基］|neurology
G24.9|未特指的肌张力障碍|neurology
G25.0|特发性震颤|neurology
G25.8|其他特指的锥体外系和运动疾患|neurology
G30.0|早发性阿尔茨海默病|neurology
G30.1|晚发性阿尔茨海默病|neurology
G30.9|未特指的阿尔茨海默病|neurology
G31.8|其他特指的神经系统变性疾病|neurology
G35|多发性硬化|neurology
G36.0|视神经脊髓炎［德维克病］|neurology
G37.9|未特指的中枢神经系统脱髓鞘疾病|neurology
G40.0|局限性（局灶性）（部分性）特发性癫痫和癫痫综合征，伴有局限性发作|neurology
G40.1|局限性（局灶性）（部分性）症状性癫痫和癫痫综合征，伴有简单部分性癫痫发作|neurology
G40.2|局限性（局灶性）（部分性）症状性癫痫和癫痫综合征，伴有复杂部分性癫痫发作|neurology
G40.3|全身性特发性癫痫和癫痫综合征|neurology
G40.4|其他全身性癫痫和癫痫综合征|neurology
G40.5|特殊癫痫综合征|neurology
G40.6|未特指的癫痫大发作（伴有或不伴有小发作）|neurology
G40.7|未特指的小发作，不伴有癫痫大发作|neurology
G40.8|其他的癫痫|neurology
G40.9|未特指的癫痫|neurology
G41.0|癫痫大发作持续状态|neurology
G41.9|未特指的癫痫持续状态|neurology
G43.0|无先兆偏头痛［普通偏头痛］|neurology
G43.1|有先兆偏头痛［典型偏头痛］|neurology
G43.2|偏头痛持续状态|neurology
G43.3|复杂性偏头痛|neurology
G43.8|其他的偏头痛|neurology
G43.9|未特指的偏头痛|neurology
G44.0|丛集性头痛综合征|neurology
G44.1|血管性头痛，不可归类在他处者|neurology
G44.2|紧张型头痛|neurology
G45.0|椎-基底动脉综合征|neurology
G45.9|未特指的短暂性大脑缺血性发作|neurology
G47.0|入睡和维持睡眠障碍［失眠症］|neurology
G47.3|睡眠呼吸暂停|neurology
G47.4|发作性睡病和猝倒症|neurology
G50.0|三叉神经痛|neurology
G51.0|贝尔麻痹|neurology
G56.0|腕管综合征|neurology
G61.0|吉兰-巴雷综合征|neurology
G62.9|未特指的多神经病|neurology
G63.2|糖尿病性多神经病|neurology;endocrinology
G70.0|重症肌无力|neurology
G71.0|肌营养不良|neurology
G91.9|未特指的脑积水|neurology
G93.4|未特指的脑病|neurology
I10|特发性（原发性）高血压|neurology;endocrinology
I60.9|未特指的蛛网膜下出血|neurology
I61.9|未特指的脑内出血|neurology
I63.0|入脑前动脉血栓形成引起的脑梗死|neurology
I63.1|入脑前动脉栓塞引起的脑梗死|neurology
I63.2|入脑前动脉未特指的闭塞或狭窄引起的脑梗死|neurology
I63.3|大脑动脉血栓形成引起的脑梗死|neurology
I63.4|大脑动脉栓塞引起的脑梗死|neurology
I63.5|大脑动脉未特指的闭塞或狭窄引起的脑梗死|neurology
I63.6|大脑静脉血栓形成引起的脑梗死，非化脓性|neurology
I63.8|其他的脑梗死|neurology
I63.9|未特指的脑梗死|neurology
I64|中风，未特指为出血或梗死|neurology
I65.2|颈动脉闭塞和狭窄|neurology
I67.2|大脑动脉粥样硬化|neurology
I67.3|进行性血管性白质脑病|neurology
I67.9|未特指的脑血管病|neurology
I69.3|脑梗死后遗症|neurology
I69.4|中风后遗症，未特指为出血或梗死|neurology
F01.9|未特指的血管性痴呆|neurology
F03|未特指的痴呆|neurology
F32.9|未特指的抑郁发作|neurology
F41.9|未特指的焦虑障碍|neurology
F51.0|非器质性失眠症|neurology
H81.1|良性阵发性眩晕|neurology
R20.2|皮肤感觉异常|neurology
R25.1|未特指的震颤|neurology
R42|头晕和眩晕|neurology
R51|头痛|neurology
R56.8|其他和未特指的惊厥|neurology
E10.0|1型糖尿病伴有昏迷|endocrinology
E10.1|1型糖尿病伴有酮症酸中毒|endocrinology
E10.2|1型糖尿病伴有肾的并发症|endocrinology
E10.3|1型糖尿病伴有眼的并发症|endocrinology
E10.4|1型糖尿病伴有神经的并发症|endocrinology
E10.5|1型糖尿病伴有周围循环并发症|endocrinology
E10.6|1型糖尿病伴有其他特指的并发症|endocrinology
E10.7|1型糖尿病伴有多个并发症|endocrinology
E10.8|1型糖尿病伴有未特指的并发症|endocrinology
E10.9|1型糖尿病不伴有并发症|endocrinology
E11.0|2型糖尿病伴有昏迷|endocrinology
E11.1|2型糖尿病伴有酮症酸中毒|endocrinology
E11.2|2型糖尿病伴有肾的并发症|endocrinology
E11.3|2型糖尿病伴有眼的并发症|endocrinology
E11.4|2型糖尿病伴有神经的并发症|endocrinology
E11.5|2型糖尿病伴有周围循环并发症|endocrinology
E11.6|2型糖尿病伴有其他特指的并发症|endocrinology
E11.7|2型糖尿病伴有多个并发症|endocrinology
E11.8|2型糖尿病伴有未特指的并发症|endocrinology
E11.9|2型糖尿病不伴有并发症|endocrinology
E13.9|其他特指的糖尿病不伴有并发症|endocrinology
E14.9|未特指的糖尿病不伴有并发症|endocrinology
O24.4|妊娠期间发生的糖尿病|endocrinology
R73.0|葡萄糖耐量试验异常|endocrinology
R73.9|未特指的高血糖症|endocrinology
E15|非糖尿病性低血糖性昏迷|endocrinology
E16.2|未特指的低血糖症|endocrinology
H36.0|糖尿病性视网膜病|endocrinology
N08.3|糖尿病性肾小球疾患|endocrinology
E02|亚临床碘缺乏性甲状腺功能减退症|endocrinology
E03.8|其他特指的甲状腺功能减退症|endocrinology
E03.9|未特指的甲状腺功能减退症|endocrinology
E04.0|非毒性弥漫性甲状腺肿|endocrinology
E04.1|非毒性单个甲状腺结节|endocrinology
E04.2|非毒性多结节性甲状腺肿|endocrinology
E04.9|未特指的非毒性甲状腺肿|endocrinology
E05.0|甲状腺毒症伴有弥漫性甲状腺肿|endocrinology
E05.1|甲状腺毒症伴有毒性单个甲状腺结节|endocrinology
E05.2|甲状腺毒症伴有毒性多结节性甲状腺肿|endocrinology
E05.5|甲状腺危象或危象发作|endocrinology
E05.9|未特指的甲状腺毒症|endocrinology
E06.0|急性甲状腺炎|endocrinology
E06.1|亚急性甲状腺炎|endocrinology
E06.3|自身免疫性甲状腺炎|endocrinology
E06.9|未特指的甲状腺炎|endocrinology
E07.9|未特指的甲状腺疾患|endocrinology
E89.0|操作后甲状腺功能减退症|endocrinology
C73|甲状腺恶性肿瘤|endocrinology
D34|甲状腺良性肿瘤|endocrinology
E20.9|未特指的甲状旁腺功能减退症|endocrinology
E21.0|原发性甲状旁腺功能亢进症|endocrinology
E21.1|继发性甲状旁腺功能亢进症，不可归类在他处者|endocrinology
E21.3|未特指的甲状旁腺功能亢进症|endocrinology
E22.0|肢端肥大症和垂体性巨人症|endocrinology
E22.1|高催乳素血症|endocrinology
E23.0|垂体功能减退症|endocrinology
E23.2|尿崩症|endocrinology
E24.0|垂体依赖性库欣病|endocrinology
E24.9|未特指的库欣综合征|endocrinology
E26.0|原发性醛固酮增多症|endocrinology
E27.1|原发性肾上腺皮质功能不全|endocrinology
E27.4|其他和未特指的肾上腺皮质功能不全|endocrinology
E27.5|肾上腺髓质功能亢进|endocrinology
E27.8|其他特指的肾上腺疾患|endocrinology
E28.2|多囊卵巢综合征|endocrinology
E29.1|睾丸功能减退|endocrinology
E30.1|性早熟|endocrinology
E31.0|自身免疫性多腺体衰竭|endocrinology
E34.3|矮身材，不可归类在他处者|endocrinology
D35.0|肾上腺良性肿瘤|endocrinology
D35.2|垂体良性肿瘤|endocrinology
E55.9|未特指的维生素D缺乏|endocrinology
E66.0|热量过度引起的肥胖症|endocrinology
E66.8|其他的肥胖症|endocrinology
E66.9|未特指的肥胖症|endocrinology
E78.0|纯高胆固醇血症|endocrinology
E78.1|纯高甘油酯血症|endocrinology
E78.2|混合性高脂血症|endocrinology
E78.5|未特指的高脂血症|endocrinology
E79.0|高尿酸血症，无炎性关节炎和痛风石性疾病的体征|endocrinology
E83.5|钙代谢紊乱|endocrinology
E87.1|低渗透压和低钠血症|endocrinology
E87.6|低钾血症|endocrinology
E88.8|其他特指的代谢紊乱|endocrinology
M10.0|特发性痛风|endocrinology
M10.9|未特指的痛风|endocrinology
M80.0|绝经后骨质疏松伴有病理性骨折|endocrinology;bone_tumor
M81.0|绝经后骨质疏松|endocrinology
M81.9|未特指的骨质疏松|endocrinology
R63.4|异常体重减轻|endocrinology
D50.0|继发于失血（慢性）的缺铁性贫血|hematology
D50.8|其他的缺铁性贫血|hematology
D50.9|未特指的缺铁性贫血|hematology
D51.0|内因子缺乏引起的维生素B12缺乏性贫血|hematology
D51.9|未特指的维生素B12缺乏性贫血|hematology
D52.9|未特指的叶酸缺乏性贫血|hematology
D53.9|未特指的营养性贫血|hematology
D56.0|α型地中海贫血|hematology
D56.1|β型地中海贫血|hematology
D56.9|未特指的地中海贫血|hematology
D58.0|遗传性球形红细胞增多症|hematology
D59.1|其他自身免疫性溶血性贫血|hematology
D59.5|阵发性睡眠性血红蛋白尿［马尔基亚法瓦-米凯利综合征］|hematology
D59.9|未特指的获得性溶血性贫血|hematology
D60.9|未特指的获得性纯红细胞再生障碍|hematology
D61.0|体质性再生障碍性贫血|hematology
D61.3|特发性再生障碍性贫血|hematology
D61.9|未特指的再生障碍性贫血|hematology
D62|急性出血后贫血|hematology
D63.0|肿瘤性疾病引起的贫血|hematology
D64.9|未特指的贫血|hematology
D65|弥散性血管内凝血［去纤维蛋白综合征］|hematology
D66|遗传性第VIII因子缺乏|hematology
D67|遗传性第IX因子缺乏|hematology
D68.0|冯·维勒布兰德病|hematology
D68.9|未特指的凝血缺陷|hematology
D69.0|变应性紫癜|hematology
D69.3|特发性血小板减少性紫癜|hematology
D69.4|其他原发性血小板减少症|hematology
D69.5|继发性血小板减少症|hematology
D69.6|未特指的血小板减少症|hematology
D70|粒细胞缺乏症|hematology
D72.1|嗜酸粒细胞增多症|hematology
D73.1|脾功能亢进|hematology
D75.1|继发性红细胞增多症|hematology
D75.9|未特指的血液和造血器官疾病|hematology
D45|真性红细胞增多症|hematology
D46.0|难治性贫血不伴有环形铁粒幼细胞|hematology
D46.1|难治性贫血伴有环形铁粒幼细胞|hematology
D46.2|难治性贫血伴有原始细胞过多|hematology
D46.4|未特指的难治性贫血|hematology
D46.5|难治性贫血伴有多系发育异常|hematology
D46.6|骨髓增生异常综合征伴有孤立性del(5q)染色体异常|hematology
D46.7|其他的骨髓增生异常综合征|hematology
D46.9|未特指的骨髓增生异常综合征|hematology
D47.1|慢性骨髓增生性疾病|hematology
D47.2|单克隆丙种球蛋白病|hematology
D47.3|特发性（出血性）血小板增多症|hematology
D47.4|骨髓纤维化|hematology
D47.5|慢性嗜酸粒细胞白血病［嗜酸粒细胞增多综合征］|hematology
D89.1|冷球蛋白血症|hematology
C81.9|未特指的霍奇金淋巴瘤|hematology
C82.9|未特指的滤泡性淋巴瘤|hematology
C83.0|小细胞B细胞淋巴瘤|hematology
C83.1|套细胞淋巴瘤|hematology
C83.3|弥漫性大B细胞淋巴瘤|hematology
C83.7|伯基特淋巴瘤|hematology
C84.4|外周T细胞淋巴瘤，不可归类在他处者|hematology
C85.9|未特指的非霍奇金淋巴瘤|hematology
C88.0|瓦尔登斯特伦巨球蛋白血症|hematology
C88.4|结外黏膜相关淋巴组织边缘区B细胞淋巴瘤［MALT淋巴瘤］|hematology
C90.0|多发性骨髓瘤|hematology;bone_tumor
C90.1|浆细胞白血病|hematology
C90.2|髓外浆细胞瘤|hematology
C90.3|孤立性浆细胞瘤|hematology;bone_tumor
C91.0|急性淋巴细胞白血病|hematology
C91.1|慢性淋巴细胞白血病|hematology
C91.4|毛细胞白血病|hematology
C91.9|未特指的淋巴样白血病|hematology
C92.0|急性髓样白血病|hematology
C92.1|慢性髓样白血病，BCR/ABL阳性|hematology
C92.4|急性早幼粒细胞白血病|hematology
C92.5|急性髓单核细胞白血病|hematology
C92.9|未特指的髓样白血病|hematology
C93.0|急性单核细胞白血病|hematology
C93.1|慢性髓单核细胞白血病|hematology
C95.0|未特指细胞类型的急性白血病|hematology
C95.9|未特指的白血病|hematology
E83.1|铁代谢紊乱|hematology
R16.1|脾大，不可归类在他处者|hematology
R59.0|局部淋巴结增大|hematology
R59.1|全身淋巴结增大|hematology
T86.0|骨髓移植排斥|hematology
Z94.8|其他移植的器官和组织状态|hematology
"""

DEPARTMENTS = frozenset({"bone_tumor", "neurology", "endocrinology", "hematology"})


def rows() -> list[tuple[str, str, str, str]]:
    out: list[tuple[str, str, str, str]] = []
    seen: set[str] = set()
    for line in DATA.strip().splitlines():
        code, name, departments = (part.strip() for part in line.split("|"))
        if not CODE.match(code):
            raise SystemExit(f"not a code the server accepts: {code}")
        if code in seen:
            raise SystemExit(f"duplicate code {code}")
        if not set(departments.split(";")) <= DEPARTMENTS:
            raise SystemExit(f"unknown department in {line}")
        if not 1 <= len(name) <= 100:
            raise SystemExit(f"name too long for the server: {code}")
        seen.add(code)
        out.append((code, name, phrase_initials(name), departments))
    out.sort(key=lambda r: (r[0][0], float(r[0][1:])))
    return out


def render() -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["code", "name", "initials", "departments"])
    w.writerows(rows())
    return buf.getvalue()


def render_initials() -> str:
    letters = []
    for cp in range(CJK_FIRST, CJK_LAST + 1):
        initial = pypinyin_initial(chr(cp))
        letters.append(initial if initial and initial.isascii() and initial.isalpha() else NO_INITIAL)
    return "".join(letters) + "\n"


def main() -> int:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(rows())} codes")
    TABLE_PATH.write_text(render_initials(), encoding="ascii")
    print(f"wrote {TABLE_PATH.relative_to(ROOT)}: {CJK_LAST - CJK_FIRST + 1} characters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
