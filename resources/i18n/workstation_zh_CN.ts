<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>Actions</name>
    <message>
        <location filename="../../workstation/ui/outbox_dialog.py" line="+31"/>
        <source>Accept patient</source>
        <translation>接诊</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Save record</source>
        <translation>保存病历</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Finish visit</source>
        <translation>结束就诊</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Mark as missed</source>
        <translation>标记未到</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stop clinic</source>
        <translation>停诊</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Approve prescription</source>
        <translation>处方审核通过</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Return prescription</source>
        <translation>退回处方</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dispense prescription</source>
        <translation>处方发药</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Approve refund application</source>
        <translation>同意退号申请</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reject refund application</source>
        <translation>拒绝退号申请</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Send refund again</source>
        <translation>重新发起退费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Window refund</source>
        <translation>窗口退费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refund drug fee</source>
        <translation>药费退费</translation>
    </message>
</context>
<context>
    <name>AdminWindow</name>
    <message>
        <location filename="../../workstation/ui/admin.py" line="+18"/>
        <source>Administration</source>
        <translation>系统管理</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Staff accounts, doctors&apos; schedules and slots, the drug catalogue and fees.</source>
        <translation>管理员工账号、医生排班与号源、药品目录和诊费。</translation>
    </message>
</context>
<context>
    <name>AppController</name>
    <message>
        <location filename="../../workstation/ui/app.py" line="+209"/>
        <source>Signed in again; your work continues.</source>
        <translation>已重新登录，可继续工作。</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>The new server address is used at the next sign-in.</source>
        <translation>新的服务器地址将在下次登录时生效。</translation>
    </message>
</context>
<context>
    <name>Chart</name>
    <message>
        <location filename="../../workstation/ui/doctor/chart_panel.py" line="+44"/>
        <source>Female</source>
        <translation>女</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Male</source>
        <translation>男</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Hospital card</source>
        <translation>就诊卡</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Medical insurance card</source>
        <translation>医保卡</translation>
    </message>
</context>
<context>
    <name>ChartPanel</name>
    <message>
        <location line="+216"/>
        <source>PDF %1</source>
        <translation>PDF 文件 %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Image %1</source>
        <translation>图片 %1</translation>
    </message>
    <message>
        <location line="+56"/>
        <source>Renew</source>
        <translation>续方</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Loading the chart…</source>
        <translation>正在加载病历…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The chart could not be loaded: %1</source>
        <translation>病历加载失败：%1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Select a patient in the queue to see the chart.</source>
        <translation>请在左侧候诊队列中选择患者，查看病历资料。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Eligibility: qualifying hospital visit (last 6 months)</source>
        <translation>复诊资格：六个月内本院门诊就诊记录</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Condition description</source>
        <translation>病情描述</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Previous visits</source>
        <translation>既往就诊记录</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Attachments (click to open)</source>
        <translation>检查资料（点击查看）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Previous prescriptions</source>
        <translation>既往处方</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Date</source>
        <translation>就诊日期</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+7"/>
        <source>Department</source>
        <translation>科室</translation>
    </message>
    <message>
        <location line="-7"/>
        <location line="+7"/>
        <source>Doctor</source>
        <translation>医生</translation>
    </message>
    <message>
        <location line="-6"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+7"/>
        <source>Diagnosis</source>
        <translation>诊断</translation>
    </message>
    <message>
        <location line="-5"/>
        <source>ID number</source>
        <translation>证件号码</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Card</source>
        <translation>就诊卡</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Appointment no.</source>
        <translation>预约号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Appointment time</source>
        <translation>预约时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Department · doctor</source>
        <translation>科室 · 医生</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Checked in</source>
        <translation>签到时间</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Visit date</source>
        <translation>就诊日期</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>%1 years</source>
        <translation>%1 岁</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>None</source>
        <translation>无</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>No qualifying visit on record.</source>
        <translation>未找到六个月内的本院门诊就诊记录。</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Submitted %1</source>
        <translation>提交于 %1</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The patient has checked in but not yet described the condition.</source>
        <translation>患者已签到，尚未提交病情描述。</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Open %1</source>
        <translation>打开%1</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>No earlier online visits.</source>
        <translation>暂无既往在线复诊记录。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>No previous prescriptions.</source>
        <translation>暂无既往处方。</translation>
    </message>
</context>
<context>
    <name>ClerkWindow</name>
    <message>
        <location filename="../../workstation/ui/clerk.py" line="+70"/>
        <source>No refund applications are waiting. A patient&apos;s application appears here as soon as it is made.</source>
        <translation>暂无待审核的退号申请。患者提交申请后会立即显示在这里。</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>No refund exceptions. A refund the payment gateway refuses or closes appears here to be sent again.</source>
        <translation>暂无退款异常。支付渠道退款失败或关闭的退费会显示在这里，供重新发起。</translation>
    </message>
    <message>
        <location line="+200"/>
        <source>%1&apos;s application was dealt with at another desk.</source>
        <translation>%1 的退号申请已在其他窗口处理。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1&apos;s refund was sent again at another desk.</source>
        <translation>%1 的退费已在其他窗口重新发起。</translation>
    </message>
    <message numerus="yes">
        <location line="+7"/>
        <source>%n new refund application(s) to review.</source>
        <translation>
            <numerusform>有 %n 条新的退号申请待审核。</numerusform>
        </translation>
    </message>
    <message>
        <location line="+33"/>
        <source>This refund is already being sent; wait for the server&apos;s answer.</source>
        <translation>该退费正在提交，请等待服务器响应。</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Approve refund application</source>
        <translation>同意退号申请</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Approve %1&apos;s application and refund %2?</source>
        <translation>确定同意 %1 的退号申请并退费 %2 吗？</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Appointment %1 (%2) is cancelled. The fee goes back the way it was paid (1–15 working days) and the patient is told by text message.</source>
        <translation>预约 %1（%2）将被取消。费用将原路退回（1–15 个工作日到账），系统会以短信通知患者。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Approve and refund %1</source>
        <translation>同意并退费 %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+54"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location line="-47"/>
        <source>Approval queued; the refund starts as soon as the server has it.</source>
        <translation>同意操作已排队，服务器收到后将立即发起退费。</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Rejection queued; the patient is told by text message.</source>
        <translation>拒绝操作已排队，系统将以短信通知患者。</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>The gateway closed refund %1, so its number cannot be used again: a new refund of %2 is created under a new number.</source>
        <translation>支付渠道已关闭退款单 %1，该退款单号不能再次使用：将以新的退款单号重新发起 %2 的退费。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Refund %1 is sent again under the same number: the gateway pays it at most once, however often it is sent.</source>
        <translation>退款单 %1 将以原退款单号重新发起：无论发送多少次，支付渠道最多只退款一次。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Send refund again</source>
        <translation>重新发起退费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Send %1&apos;s refund of %2 again?</source>
        <translation>确定重新发起 %1 的退费 %2 吗？</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Send %1 again</source>
        <translation>重新发起 %1</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Sending the refund again…</source>
        <translation>正在重新发起退费…</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>Refund of %1 queued.</source>
        <translation>退费 %1 已排队，等待发送到服务器。</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>The server refused the action.</source>
        <translation>服务器拒绝了该操作。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The server refused: %1</source>
        <translation>服务器拒绝：%1</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Approved: %1 goes back to %2.</source>
        <translation>已同意：%1 将原路退回给 %2。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Rejected %2&apos;s application; the patient is told by text message.</source>
        <translation>已拒绝 %2 的退号申请，系统将以短信通知患者。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sent again: %1 to %2.</source>
        <translation>已重新发起：%1 将退回给 %2。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Window refund started: %1 goes back to %2.</source>
        <translation>窗口退费已发起：%1 将原路退回给 %2。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Drug fee refund started: %1 goes back to %2.</source>
        <translation>药费退费已发起：%1 将原路退回给 %2。</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>The refund lists could not be loaded: %1</source>
        <translation>退费列表加载失败：%1</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>Refund applications (%1)</source>
        <translation>退号申请（%1）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refund exceptions (%1)</source>
        <translation>退款异常（%1）</translation>
    </message>
    <message numerus="yes">
        <location line="+2"/>
        <source>%n waiting, oldest first</source>
        <translation>
            <numerusform>%n 条待审核，最早的在前</numerusform>
        </translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 held for review</source>
        <translation>待审核金额 %1</translation>
    </message>
    <message numerus="yes">
        <location line="+2"/>
        <source>%n to send again, newest first</source>
        <translation>
            <numerusform>%n 笔待重新发起，最新的在前</numerusform>
        </translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 not yet back with the patients</source>
        <translation>%1 尚未退回患者</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Refund window</source>
        <translation>窗口退费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Refunds</source>
        <translation>退费(&amp;R)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Reload</source>
        <translation>刷新(&amp;R)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Outbox…</source>
        <translation>待发送操作(&amp;O)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Find order…</source>
        <translation>查找订单(&amp;F)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refund applications</source>
        <translation>退号申请</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refund exceptions</source>
        <translation>退款异常</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search and refund</source>
        <translation>查询与退费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reconciliation</source>
        <translation>对账</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Sign out</source>
        <translation>退出登录</translation>
    </message>
    <message numerus="yes">
        <location line="+1"/>
        <source>%n action(s) have not reached the server yet. They are kept on this computer and sent the next time you sign in. Sign out now?</source>
        <translation>
            <numerusform>还有 %n 项操作尚未发送到服务器。它们已保存在本机，下次登录后自动发送。确定现在退出登录吗？</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ClinicStopDialog</name>
    <message>
        <location filename="../../workstation/ui/doctor/clinic_stop_dialog.py" line="+136"/>
        <source>Official duty</source>
        <translation>公务外出</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Illness</source>
        <translation>因病</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Conference or training</source>
        <translation>参加会议或培训</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Emergency surgery</source>
        <translation>急诊手术</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Other</source>
        <translation>其他原因</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+113"/>
        <source>Stop clinic</source>
        <translation>停诊</translation>
    </message>
    <message>
        <location line="-112"/>
        <source>Every booked appointment in this period is cancelled and refunded in full; the patients are told by text message.</source>
        <translation>停诊时段内所有已预约的号源将被取消并全额退费，系统会以短信通知患者。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>From</source>
        <translation>开始时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Until</source>
        <translation>结束时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Quick choice</source>
        <translation>快捷选择</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Rest of today</source>
        <translation>今天剩余时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>All day tomorrow</source>
        <translation>明天全天</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Details</source>
        <translation>补充说明</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Optional: shown to the patients in the text message</source>
        <translation>选填：将在短信中告知患者</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Stop clinic…</source>
        <translation>停诊…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>The number of booked patients in this period could not be checked; the server will cancel every booked one.</source>
        <translation>暂时无法查询该时段的预约人数；停诊后，服务器将取消该时段内的全部预约。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Checking booked patients in this period…</source>
        <translation>正在查询该时段的预约患者…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No patient is booked in this period.</source>
        <translation>该时段内没有已预约的患者。</translation>
    </message>
    <message numerus="yes">
        <location line="+2"/>
        <source>%n booked patient(s) in this period will be cancelled and refunded.</source>
        <translation>
            <numerusform>该时段内有 %n 位已预约患者，停诊后将取消预约并退费。</numerusform>
        </translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The end must be after the start.</source>
        <translation>结束时间必须晚于开始时间。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The period is already over.</source>
        <translation>所选时段已经结束。</translation>
    </message>
    <message>
        <location line="+55"/>
        <source>Stop clinic from %1 until %2?</source>
        <translation>确定在 %1 至 %2 停诊吗？</translation>
    </message>
    <message numerus="yes">
        <location line="+3"/>
        <source>%n booked patient(s) will be cancelled and refunded. This cannot be undone.</source>
        <translation>
            <numerusform>%n 位已预约患者的预约将被取消并退费，此操作不可撤销。</numerusform>
        </translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Any patient booked in this period will be cancelled and refunded. This cannot be undone.</source>
        <translation>该时段内的所有预约将被取消并退费，此操作不可撤销。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Confirm clinic stop</source>
        <translation>确认停诊</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Go back</source>
        <translation>返回</translation>
    </message>
</context>
<context>
    <name>ConnectionIndicator</name>
    <message>
        <location filename="../../workstation/ui/statusbar.py" line="+49"/>
        <source>Online</source>
        <translation>在线</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reconnecting</source>
        <translation>重连中</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Offline</source>
        <translation>离线</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Connected: the queue updates live.</source>
        <translation>已连接：候诊队列实时更新。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The connection to the server dropped; reconnecting. Nothing you do is lost.</source>
        <translation>与服务器的连接中断，正在重新连接。您的操作不会丢失。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The server cannot be reached. Your actions are kept and sent when it is back.</source>
        <translation>无法连接服务器。您的操作已保存在本机，连接恢复后自动发送。</translation>
    </message>
</context>
<context>
    <name>ConsultPanel</name>
    <message>
        <location filename="../../workstation/ui/doctor/consult_panel.py" line="+324"/>
        <source>Pick a diagnosis from the ICD-10 list before finishing the visit.</source>
        <translation>请先从 ICD-10 列表中选择诊断，再结束就诊。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Finish the visit of %1 with the diagnosis %2 %3? The record cannot be changed afterwards.</source>
        <translation>确定结束 %1 的就诊吗？诊断：%2 %3。结束后病历不能再修改。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Finish visit</source>
        <translation>结束就诊</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Go back</source>
        <translation>返回</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Consultation</source>
        <translation>接诊</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Select a patient in the queue. Accept a waiting patient to start the visit; write the notes and pick the diagnosis, then finish the visit.</source>
        <translation>请在候诊队列中选择患者。接诊候诊患者后开始就诊，书写病历并选择诊断，然后结束就诊。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Video: no call at the moment. Call the patient again if the line dropped.</source>
        <translation>视频：当前未在通话。如线路中断，可再次呼叫患者。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Mark as missed…</source>
        <translation>标记未到…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The patient did not answer or did not come</source>
        <translation>患者未应答或未按时就诊</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Notes (complaint, findings, advice)</source>
        <translation>病历记录（主诉、检查所见、医嘱）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chief complaint, history, findings, advice…</source>
        <translation>主诉、现病史、检查所见、处理意见…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Diagnosis (ICD-10)</source>
        <translation>诊断（ICD-10）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Save record</source>
        <translation>保存病历</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Send the record to the server now (it is also kept on this computer automatically)</source>
        <translation>立即将病历保存到服务器（本机也会自动保存草稿）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Finish visit…</source>
        <translation>结束就诊…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Diagnosis</source>
        <translation>诊断</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Notes</source>
        <translation>病历记录</translation>
    </message>
    <message>
        <location line="-18"/>
        <location line="+2"/>
        <source>Video call</source>
        <translation>视频呼叫</translation>
    </message>
    <message>
        <location line="-1"/>
        <source>Call the patient on video and start the visit</source>
        <translation>视频呼叫患者并开始接诊</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Call the patient on video again</source>
        <translation>再次视频呼叫患者</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Video: the call is on (controls above the chart).</source>
        <translation>视频：通话进行中（操作按钮在病历上方）。</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>The call starts the visit; the patient is waiting on the video page of the mini-program.</source>
        <translation>呼叫即开始接诊；患者正在小程序的视频候诊页面等候。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Draft saved on this computer at %1</source>
        <translation>草稿已于 %1 保存在本机</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Drafts are saved on this computer automatically.</source>
        <translation>草稿会自动保存在本机。</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Calling %1… (waiting for the server)</source>
        <translation>正在呼叫 %1…（等待服务器确认）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Marking %1 as missed… (waiting for the server)</source>
        <translation>正在将 %1 标记为未到…（等待服务器确认）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Finishing the visit of %1… (waiting for the server)</source>
        <translation>正在结束 %1 的就诊…（等待服务器确认）</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>%1 has checked in and is describing the condition.</source>
        <translation>%1 已签到，正在填写病情描述。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The call with %1 was interrupted. Accept to call again.</source>
        <translation>与 %1 的通话已中断，点击接诊可重新呼叫。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1 is waiting for you.</source>
        <translation>%1 正在候诊。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>In consultation with %1.</source>
        <translation>正在为 %1 接诊。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Patient&apos;s rating</source>
        <translation>患者评价</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Not rated yet.</source>
        <translation>患者尚未评价。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The visit of %1 is finished.</source>
        <translation>%1 的本次就诊已结束。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 was marked as missed.</source>
        <translation>%1 已标记为未到。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>This appointment is closed (%1).</source>
        <translation>该预约已关闭（%1）。</translation>
    </message>
</context>
<context>
    <name>DetailPanel</name>
    <message numerus="yes">
        <location filename="../../workstation/ui/review/detail_panel.py" line="+133"/>
        <source>%n check(s) overridden</source>
        <translation>
            <numerusform>坚持用药 %n 项</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+10"/>
        <source>%n years</source>
        <comment>age</comment>
        <translation>
            <numerusform>%n 岁</numerusform>
        </translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Dr %1</source>
        <translation>%1 医生</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>signed %1</source>
        <translation>签名于 %1</translation>
    </message>
    <message>
        <location line="+36"/>
        <location line="+137"/>
        <source>Shipped</source>
        <translation>已发货</translation>
    </message>
    <message>
        <location line="-137"/>
        <location line="+153"/>
        <source>Dispense</source>
        <translation>发药</translation>
    </message>
    <message>
        <location line="-149"/>
        <source>Approving… (sent when the server answers)</source>
        <translation>正在提交审核通过…（服务器响应后发送）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Returning to the doctor…</source>
        <translation>正在退回医生…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Recording the dispensing…</source>
        <translation>正在登记发药…</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>None reported</source>
        <translation>无已知过敏</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Self-pay</source>
        <translation>自费</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Insurance</source>
        <translation>医保</translation>
    </message>
    <message numerus="yes">
        <location line="+3"/>
        <source>Valid %n day(s)</source>
        <translation>
            <numerusform>有效期 %n 天</numerusform>
        </translation>
    </message>
    <message>
        <location line="+4"/>
        <source>(until %1)</source>
        <translation>（至 %1）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Allergies</source>
        <translation>过敏史</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Diagnosis</source>
        <translation>诊断</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Fee category</source>
        <translation>费别</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Validity</source>
        <translation>有效期</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Long-term use</source>
        <translation>慢病理由</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Medicines</source>
        <translation>药品</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Medicine</source>
        <translation>药品名称</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Directions</source>
        <translation>用法用量</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Quantity</source>
        <translation>数量</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Amount</source>
        <translation>金额</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>computed %1</source>
        <translation>计算值 %1</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Total</source>
        <translation>合计</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Checks</source>
        <translation>用药审查</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>No findings: every automatic check passed.</source>
        <translation>未发现问题：自动用药审查全部通过。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Overridden by the doctor</source>
        <translation>医生坚持用药</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Doctor’s reason:</source>
        <translation>医生理由：</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>line %1</source>
        <translation>第 %1 行</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Blocking</source>
        <translation>拦截</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Warning</source>
        <translation>警示</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Doctor’s notes</source>
        <translation>医生备注</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Returned</source>
        <translation>已退回</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Reviewed by</source>
        <translation>审核药师</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Approved</source>
        <translation>审核通过</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Delivery to %1</source>
        <translation>配送至 %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Pickup at %1</source>
        <translation>到 %1 自取</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Fulfilment</source>
        <translation>取药方式</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paid</source>
        <translation>已缴费</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Dispensed</source>
        <translation>已发药</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Voided</source>
        <translation>已作废</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Review and fulfilment</source>
        <translation>审核与取药</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Approve</source>
        <translation>审核通过</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Return…</source>
        <translation>退回…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Print slip…</source>
        <translation>打印处方笺…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Slip printing arrives with a later release.</source>
        <translation>打印处方笺功能将在后续版本中提供。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Select a prescription on the left to review it.</source>
        <translation>请在左侧列表中选择要审核的处方。</translation>
    </message>
</context>
<context>
    <name>DoctorWindow</name>
    <message>
        <location filename="../../workstation/ui/doctor/main_window.py" line="+274"/>
        <source>The formulary could not be loaded: %1</source>
        <translation>药品目录加载失败：%1</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Start the video call first: consent is asked on the call.</source>
        <translation>请先发起视频通话：知情同意需在通话中请求。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Prescription %1 of %2 was returned by the pharmacist: %3</source>
        <translation>%2 的处方 %1 被药师退回：%3</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>The call with %1 is still on. End it and call the next patient?</source>
        <translation>与 %1 的通话仍在进行。结束该通话并呼叫下一位患者吗？</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Video call</source>
        <translation>视频呼叫</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>End and call</source>
        <translation>结束并呼叫</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>Renewing needs the patient&apos;s consent on the video call first.</source>
        <translation>续方需要患者先在视频中同意处方。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>This prescription is signed: start a new one to renew into.</source>
        <translation>当前处方已签名：请先新开处方再续方。</translation>
    </message>
    <message>
        <location line="+54"/>
        <source>The record is queued to be saved on the server.</source>
        <translation>病历已排队，等待保存到服务器。</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>The server refused an action: %1</source>
        <translation>服务器拒绝了操作：%1</translation>
    </message>
    <message numerus="yes">
        <location line="+5"/>
        <source>Clinic stop declared; %n appointment(s) cancelled.</source>
        <translation>
            <numerusform>停诊已生效，已取消 %n 个预约。</numerusform>
        </translation>
    </message>
    <message>
        <location line="+58"/>
        <source>The clinic stop is queued; the status bar shows when it is sent.</source>
        <translation>停诊申请已排队，发送成功后状态栏会提示。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Online revisit clinic</source>
        <translation>在线复诊工作台</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Clinic</source>
        <translation>门诊(&amp;C)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Reload queue</source>
        <translation>刷新候诊队列(&amp;R)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Outbox…</source>
        <translation>待发送操作(&amp;O)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Stop clinic…</source>
        <translation>停诊(&amp;S)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Visit</source>
        <translation>就诊</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Prescription</source>
        <translation>处方</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Sign out</source>
        <translation>退出登录</translation>
    </message>
    <message numerus="yes">
        <location line="+1"/>
        <source>%n action(s) have not reached the server yet. They are kept on this computer and sent the next time you sign in. Sign out now?</source>
        <translation>
            <numerusform>还有 %n 项操作尚未发送到服务器。它们已保存在本机，下次登录后自动发送。确定现在退出登录吗？</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>FindingsView</name>
    <message>
        <location filename="../../workstation/ui/doctor/prescription_editor.py" line="+271"/>
        <source>Blocks signing</source>
        <translation>阻止签名</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Warning</source>
        <translation>警示</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Overridden</source>
        <translation>已坚持用药</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Line %1: %2</source>
        <translation>第 %1 行：%2</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Reason: %1</source>
        <translation>理由：%1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>This cannot be overridden: change the prescription.</source>
        <translation>此项不能坚持用药，请修改处方。</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Withdraw</source>
        <translation>撤销</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Override…</source>
        <translation>坚持用药…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keep this line and write down why</source>
        <translation>保留该药品并填写理由</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>No findings: the checks found nothing to note.</source>
        <translation>用药审查未发现问题。</translation>
    </message>
</context>
<context>
    <name>IcdPicker</name>
    <message>
        <location filename="../../workstation/ui/doctor/icd_picker.py" line="+70"/>
        <source>Loading the ICD-10 list…</source>
        <translation>正在加载 ICD-10 诊断列表…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Type an ICD-10 code, Chinese name or pinyin initials</source>
        <translation>输入 ICD-10 编码、中文名称或拼音首字母</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>For example E11, 糖尿病 or tnb; then pick an entry from the list</source>
        <translation>例如 E11、糖尿病 或 tnb，然后从列表中选择</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Change</source>
        <translation>更改</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Choose another diagnosis</source>
        <translation>重新选择诊断</translation>
    </message>
</context>
<context>
    <name>ImageViewer</name>
    <message>
        <location filename="../../workstation/ui/doctor/image_viewer.py" line="+76"/>
        <source>Previous</source>
        <translation>上一张</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Next</source>
        <translation>下一张</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Zoom in</source>
        <translation>放大</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Zoom out</source>
        <translation>缩小</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Fit to window</source>
        <translation>适合窗口</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Actual size</source>
        <translation>原始大小</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Rotate left</source>
        <translation>向左旋转</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Rotate right</source>
        <translation>向右旋转</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Zoom in (Ctrl + mouse wheel)</source>
        <translation>放大（Ctrl + 鼠标滚轮）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Zoom out (Ctrl + mouse wheel)</source>
        <translation>缩小（Ctrl + 鼠标滚轮）</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Image viewer</source>
        <translation>图片查看</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Image viewer — %1</source>
        <translation>图片查看 — %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Image %1 of %2</source>
        <translation>第 %1 张，共 %2 张</translation>
    </message>
</context>
<context>
    <name>Media</name>
    <message>
        <location filename="../../workstation/services/media/sources.py" line="+435"/>
        <source>No camera found: the patient sees a test pattern.</source>
        <translation>未检测到摄像头：患者看到的是测试图像。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>No microphone found: the patient hears a test tone.</source>
        <translation>未检测到麦克风：患者听到的是测试音。</translation>
    </message>
</context>
<context>
    <name>MissedDialog</name>
    <message>
        <location filename="../../workstation/ui/doctor/consult_panel.py" line="-385"/>
        <location line="+10"/>
        <source>Mark as missed</source>
        <translation>标记未到</translation>
    </message>
    <message>
        <location line="-9"/>
        <source>Mark %1 as missed? The appointment ends without a visit; the patient may apply for a refund.</source>
        <translation>确定将 %1 标记为未到吗？本次预约将结束，患者可申请退号退费。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No answer after three calls</source>
        <translation>呼叫三次未应答</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>The patient left the waiting room</source>
        <translation>患者已离开候诊页面</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The patient did not come at the appointed time</source>
        <translation>患者未按预约时间就诊</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>OrderDetail</name>
    <message>
        <location filename="../../workstation/ui/refunds/search_page.py" line="+84"/>
        <source>No refunds on this order.</source>
        <translation>该订单暂无退费记录。</translation>
    </message>
    <message>
        <location line="+94"/>
        <source>Refundable %1</source>
        <translation>可退金额 %1</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>(%1 on the way)</source>
        <translation>（%1 退费中）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not paid</source>
        <translation>未缴费</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 (paid %2)</source>
        <translation>%1（缴费时间 %2）</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Refunds of this order (%1)</source>
        <translation>本订单退费记录（%1）</translation>
    </message>
    <message>
        <location line="+50"/>
        <source>Receipt printing arrives with a later release.</source>
        <translation>打印退费凭证功能将在后续版本中提供。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Select a refund in the list to print its receipt.</source>
        <translation>请在列表中选择一笔退费，打印其退费凭证。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Sending the refund… it is kept and sent again if the network drops, and counts once.</source>
        <translation>正在提交退费…网络中断时会保存并自动重发，且只会退款一次。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Nothing was paid on this order.</source>
        <translation>该订单未缴费。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Nothing is left to refund on this order.</source>
        <translation>该订单已无可退金额。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Only a paid prescription that has not been dispensed or shipped can be refunded here.</source>
        <translation>只有已缴费且尚未发药或发货的处方可在此退药费。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This appointment cannot be refunded at the window in its current state.</source>
        <translation>该预约当前状态不能办理窗口退费。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Window refund…</source>
        <translation>窗口退费…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refund drug fee…</source>
        <translation>药费退费…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Print refund receipt…</source>
        <translation>打印退费凭证…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Appointment no.</source>
        <translation>预约号</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Visit</source>
        <translation>就诊信息</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Order no.</source>
        <translation>商户订单号</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Paid</source>
        <translation>实付金额</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Refunded</source>
        <translation>已退金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ID number</source>
        <translation>证件号码</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Mobile</source>
        <translation>手机号</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Select an order above to see its payment and refunds.</source>
        <translation>请在上方选择订单，查看其缴费和退费情况。</translation>
    </message>
</context>
<context>
    <name>OutboxDialog</name>
    <message>
        <location filename="../../workstation/ui/outbox_dialog.py" line="+51"/>
        <source>Outbox</source>
        <translation>待发送操作</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Actions are kept on this computer until the server confirms them. Pending ones are sent automatically when the connection is back; failed ones were refused by the server — read the reason, then retry or dismiss.</source>
        <translation>操作会保存在本机，直到服务器确认。待发送的操作会在连接恢复后自动发送；失败的操作已被服务器拒绝——请查看原因后重试或忽略。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Patient</source>
        <translation>患者</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Attempts</source>
        <translation>尝试次数</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nothing is waiting: every action reached the server.</source>
        <translation>没有待发送的操作，所有操作均已送达服务器。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dismiss</source>
        <translation>忽略</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Pending</source>
        <translation>待发送</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Sent</source>
        <translation>已发送</translation>
    </message>
</context>
<context>
    <name>OutboxIndicator</name>
    <message>
        <location filename="../../workstation/ui/statusbar.py" line="+39"/>
        <source>Outbox: %1 pending · %2 failed</source>
        <translation>待发送 %1 项 · 失败 %2 项</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Outbox: %1 failed, click to see why</source>
        <translation>发送失败 %1 项，点击查看原因</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Outbox: %1 pending</source>
        <translation>待发送 %1 项</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Outbox: all sent</source>
        <translation>操作已全部发送</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Actions waiting to reach the server, and those the server refused. Click for details.</source>
        <translation>等待发送到服务器的操作，以及被服务器拒绝的操作。点击查看详情。</translation>
    </message>
</context>
<context>
    <name>PasswordDialog</name>
    <message>
        <location filename="../../workstation/ui/doctor/prescription_editor.py" line="-146"/>
        <source>Sign prescription</source>
        <translation>处方签名</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Your sign-in password</source>
        <translation>您的登录密码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sign</source>
        <translation>签名</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>PdfViewer</name>
    <message>
        <location filename="../../workstation/ui/doctor/pdf_viewer.py" line="+162"/>
        <source>Page %1 of %2</source>
        <translation>第 %1 页，共 %2 页</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>PDF viewer — %1</source>
        <translation>PDF 查看 — %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Previous page</source>
        <translation>上一页</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Next page</source>
        <translation>下一页</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Zoom in</source>
        <translation>放大</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Zoom out</source>
        <translation>缩小</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Fit width</source>
        <translation>适合宽度</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Rotate left</source>
        <translation>向左旋转</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Rotate right</source>
        <translation>向右旋转</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>This PDF could not be opened.</source>
        <translation>无法打开此 PDF 文件。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Rendering pages…</source>
        <translation>正在加载页面…</translation>
    </message>
</context>
<context>
    <name>PharmacistWindow</name>
    <message>
        <location filename="../../workstation/ui/pharmacist.py" line="+59"/>
        <source>No prescriptions are waiting for review. New ones appear here as soon as a doctor signs them.</source>
        <translation>暂无待审核的处方。医生签名后，新处方会立即出现在这里。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Nothing to dispense: paid prescriptions appear here.</source>
        <translation>暂无待发药的处方。已缴费的处方会出现在这里。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Nothing reviewed or dispensed today yet.</source>
        <translation>今天尚未审核或发药。</translation>
    </message>
    <message>
        <location line="+131"/>
        <source>%1&apos;s prescription %2 was dealt with at another desk or withdrawn by the doctor.</source>
        <translation>%1 的处方 %2 已在其他工作站处理，或已被医生撤回。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>New prescription to review: %1</source>
        <translation>有新处方待审核：%1</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Approval queued; the patient is told as soon as the server has it.</source>
        <translation>审核通过已排队，服务器收到后将立即通知患者。</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Returned to the doctor with the reason.</source>
        <translation>已将处方连同退回原因退回医生。</translation>
    </message>
    <message>
        <location line="+35"/>
        <source>Dispensing recorded.</source>
        <translation>已登记发药。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The server refused an action: %1</source>
        <translation>服务器拒绝了操作：%1</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>The prescriptions could not be loaded: %1</source>
        <translation>处方加载失败：%1</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>To review (%1)</source>
        <translation>待审核（%1）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>To dispense (%1)</source>
        <translation>待发药（%1）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Done today (%1)</source>
        <translation>今日已处理（%1）</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Prescription review</source>
        <translation>处方审核</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Prescriptions</source>
        <translation>处方</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Review</source>
        <translation>审方(&amp;R)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Reload lists</source>
        <translation>刷新列表(&amp;R)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Outbox…</source>
        <translation>待发送操作(&amp;O)…</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Sign out</source>
        <translation>退出登录</translation>
    </message>
    <message numerus="yes">
        <location line="+1"/>
        <source>%n action(s) have not reached the server yet. They are kept on this computer and sent the next time you sign in. Sign out now?</source>
        <translation>
            <numerusform>还有 %n 项操作尚未发送到服务器。它们已保存在本机，下次登录后自动发送。确定现在退出登录吗？</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>PlaceholderWindow</name>
    <message>
        <location filename="../../workstation/ui/placeholder.py" line="+60"/>
        <source>This window is being built; it arrives with a later release of the workstation.</source>
        <translation>此功能正在建设中，将在工作站的后续版本中提供。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Sign out</source>
        <translation>退出登录</translation>
    </message>
</context>
<context>
    <name>Prescription</name>
    <message>
        <location filename="../../workstation/models/prescription.py" line="+67"/>
        <source>Draft</source>
        <translation>草稿</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Signed — waiting for the pharmacist</source>
        <translation>已签名，待药师审核</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Returned: %1</source>
        <translation>已退回：%1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Approved</source>
        <translation>审核通过</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sent to the patient</source>
        <translation>已发送给患者</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The patient chose pickup or delivery</source>
        <translation>患者已选择取药方式</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paid</source>
        <translation>已缴费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dispensed</source>
        <translation>已发药</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Shipped</source>
        <translation>已发货</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Voided</source>
        <translation>已作废</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Expired</source>
        <translation>已过期</translation>
    </message>
    <message>
        <location line="+35"/>
        <source>(special control: not online)</source>
        <translation>（特殊管理药品，不可在线开具）</translation>
    </message>
    <message>
        <location line="+142"/>
        <source>Drug</source>
        <translation>药品</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dose</source>
        <translation>剂量</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Route</source>
        <translation>给药途径</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Frequency</source>
        <translation>频次</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Days</source>
        <translation>天数</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Quantity</source>
        <translation>数量</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Amount</source>
        <translation>金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Notes</source>
        <translation>备注</translation>
    </message>
    <message>
        <location line="+45"/>
        <source>Remove</source>
        <translation>删除</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Computed from dose, frequency and days; type a number to change it</source>
        <translation>按剂量、频次和天数自动计算；输入数字可修改</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Changed by hand (computed: %1); type 0 to compute it again</source>
        <translation>已手动修改（计算值：%1）；输入 0 恢复自动计算</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Remove this drug from the prescription</source>
        <translation>从处方中删除该药品</translation>
    </message>
</context>
<context>
    <name>PrescriptionEditor</name>
    <message>
        <location filename="../../workstation/ui/doctor/prescription_editor.py" line="+526"/>
        <source>Restored the prescription you were writing (kept on this computer).</source>
        <translation>已恢复您正在书写的处方（保存在本机）。</translation>
    </message>
    <message>
        <location line="+112"/>
        <source>A prescription holds at most %1 lines.</source>
        <translation>每张处方最多开具 %1 种药品。</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>Renewed %1 drug(s) from prescription %2: check doses and days before signing.</source>
        <translation>已从处方 %2 续开 %1 种药品：签名前请核对剂量和天数。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Left out (already on it, no longer stocked, or over the line limit): %1.</source>
        <translation>未续开（已在处方中、药品已停用或超过行数上限）：%1。</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Override a check</source>
        <translation>坚持用药</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1

Why is this prescription right for the patient anyway? The reason is signed with the prescription and read by the pharmacist.</source>
        <translation>%1

请说明为何该处方对患者仍然适宜。理由将随处方一同签名，并供药师审核时查看。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Override</source>
        <translation>坚持用药</translation>
    </message>
    <message>
        <location line="+33"/>
        <source>This prescription was changed elsewhere (another window or computer). The newest version is shown; check it and make your change again.</source>
        <translation>该处方已在其他窗口或电脑上被修改。现显示最新版本，请核对后重新修改。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>This prescription can no longer be changed: %1</source>
        <translation>该处方已不能修改：%1</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Not sent to the server yet (no connection); it is kept on this computer and sent when the server answers.</source>
        <translation>尚未发送到服务器（无连接）；已保存在本机，服务器恢复后自动发送。</translation>
    </message>
    <message>
        <location line="+79"/>
        <source>Sign the prescription for %1 (%2 drug(s), %3)? A signed prescription cannot be changed; type your password to sign.</source>
        <translation>确定为 %1 签名开具处方吗（共 %2 种药品，%3）？签名后处方不能再修改；请输入登录密码签名。</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>The prescription has not reached the server yet; try signing again in a moment.</source>
        <translation>处方尚未送达服务器，请稍后再签名。</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Not signed: %1</source>
        <translation>未能签名：%1</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Not signed: %1 Fix or override the checks marked in red below.</source>
        <translation>未能签名：%1 请修改下方标红的审查问题，或坚持用药并填写理由。</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Void prescription</source>
        <translation>作废处方</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Void prescription %1? It cannot be used afterwards; if the patient was already told, an SMS says it was voided. Why?</source>
        <translation>确定作废处方 %1 吗？作废后处方不能再使用；如已通知患者，系统将以短信告知处方已作废。请填写作废原因：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Void</source>
        <translation>作废</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>Checks</source>
        <translation>用药审查</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Checks: all resolved</source>
        <translation>用药审查：问题均已处理</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Checks: %1 blocking, %2 warning(s)</source>
        <translation>用药审查：%1 项拦截，%2 项警示</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Saved on this computer; checking on the server…</source>
        <translation>已保存在本机，正在由服务器审查…</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Draft saved %1</source>
        <translation>草稿已保存 %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Drafts are saved automatically.</source>
        <translation>草稿会自动保存。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Prescription</source>
        <translation>处方</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Select a patient in the queue. Prescriptions are written during the visit, after the patient consented on the video call.</source>
        <translation>请在候诊队列中选择患者。处方在就诊过程中开具，须先在视频通话中取得患者同意。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The patient must consent to a prescription on the video call before you can write one.</source>
        <translation>开具处方前，须在视频通话中取得患者的处方知情同意。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Ask for prescription consent</source>
        <translation>请求处方知情同意</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Diagnosis</source>
        <translation>诊断</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Fee</source>
        <translation>费别</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Self-pay</source>
        <translation>自费</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Insurance</source>
        <translation>医保</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Allergies</source>
        <translation>过敏史</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>None known; or e.g. 青霉素类, 磺胺类 (comma separated)</source>
        <translation>无已知过敏可留空；如：青霉素类，磺胺类（用逗号分隔）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Chronic disease</source>
        <translation>慢病理由</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reason for more than 7 days (up to 12 weeks)</source>
        <translation>用药超过 7 天的理由（最长 12 周）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Valid (days)</source>
        <translation>有效期（天）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Why longer than one day</source>
        <translation>有效期超过 1 天的理由</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Notes</source>
        <translation>备注</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Advice for the patient and the pharmacist</source>
        <translation>给患者和药师的嘱托</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Add drug</source>
        <translation>添加药品</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search by name, brand, pinyin initials (e.g. amxl) or code</source>
        <translation>输入通用名、商品名、拼音首字母（如 amxl）或编码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Loading the formulary…</source>
        <translation>正在加载药品目录…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Signing…</source>
        <translation>正在签名…</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Sign…</source>
        <translation>签名…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Voiding…</source>
        <translation>正在作废…</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Void…</source>
        <translation>作废…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Print slip…</source>
        <translation>打印处方笺…</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+59"/>
        <source>New prescription</source>
        <translation>新开处方</translation>
    </message>
    <message>
        <location line="-58"/>
        <source>Total %1</source>
        <translation>合计 %1</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Prescriptions are written during the visit: accept the patient first.</source>
        <translation>处方须在就诊过程中开具，请先接诊患者。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Consent asked — waiting for the patient&apos;s answer on the phone.</source>
        <translation>已请求知情同意，等待患者在手机上确认。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The patient declined. Explain on the call and ask again if the patient agrees.</source>
        <translation>患者不同意。请在通话中说明，如患者同意可再次请求。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The call is on: ask the patient to consent now.</source>
        <translation>通话进行中：请现在请求患者知情同意。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Start the video call first; consent is asked on the call.</source>
        <translation>请先发起视频通话：知情同意需在通话中请求。</translation>
    </message>
    <message>
        <location line="+33"/>
        <source>%1 · signed %2</source>
        <translation>%1 · 签名于 %2</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Returned by the pharmacist %1: %2 — change the prescription and sign it again.</source>
        <translation>药师 %1 退回处方：%2。请修改处方后重新签名。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Voided: %1</source>
        <translation>已作废：%1</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>waiting for consent</source>
        <translation>待知情同意</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>new</source>
        <translation>新开</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>draft</source>
        <translation>草稿</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>signed</source>
        <translation>已签名</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>returned</source>
        <translation>已退回</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>approved</source>
        <translation>已通过</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>sent</source>
        <translation>已发送</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>pickup/delivery chosen</source>
        <translation>已选取药方式</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>paid</source>
        <translation>已缴费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>dispensed</source>
        <translation>已发药</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>shipped</source>
        <translation>已发货</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>voided</source>
        <translation>已作废</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>expired</source>
        <translation>已过期</translation>
    </message>
</context>
<context>
    <name>PrintPreview</name>
    <message>
        <location filename="../../workstation/ui/print_preview.py" line="+334"/>
        <source>Prescription slip</source>
        <translation>处方笺</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The slip could not be prepared: %1</source>
        <translation>处方笺生成失败：%1</translation>
    </message>
</context>
<context>
    <name>PrintPreviewDialog</name>
    <message>
        <location line="-103"/>
        <location line="+11"/>
        <source>Save as PDF</source>
        <translation>另存为 PDF</translation>
    </message>
    <message>
        <location line="-10"/>
        <source>PDF files (*.pdf)</source>
        <translation>PDF 文件 (*.pdf)</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>The file could not be written: %1</source>
        <translation>文件写入失败：%1</translation>
    </message>
    <message>
        <location line="+10"/>
        <location line="+30"/>
        <source>Print</source>
        <translation>打印</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Printing failed: %1</source>
        <translation>打印失败：%1</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Print preview — %1</source>
        <translation>打印预览 — %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Zoom in</source>
        <translation>放大</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Zoom out</source>
        <translation>缩小</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Print…</source>
        <translation>打印…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Save as PDF…</source>
        <translation>另存为 PDF…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>This document could not be shown.</source>
        <translation>无法显示此文档。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Sending to the printer…</source>
        <translation>正在发送到打印机…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Preparing the preview…</source>
        <translation>正在生成预览…</translation>
    </message>
    <message numerus="yes">
        <location line="+2"/>
        <source>%n page(s)</source>
        <translation>
            <numerusform>共 %n 页</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>QueueModel</name>
    <message>
        <location filename="../../workstation/models/queue.py" line="+61"/>
        <source>Checked in</source>
        <translation>已签到</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Waiting</source>
        <translation>候诊</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>In consultation</source>
        <translation>接诊中</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Interrupted</source>
        <translation>中断</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Finished</source>
        <translation>已完成</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Missed</source>
        <translation>未到</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Time</source>
        <comment>column</comment>
        <translation>时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Patient</source>
        <comment>column</comment>
        <translation>患者</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sex / age</source>
        <comment>column</comment>
        <translation>性别 / 年龄</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Status</source>
        <comment>column</comment>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Waiting</source>
        <comment>column</comment>
        <translation>候诊时长</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Department</source>
        <comment>column</comment>
        <translation>科室</translation>
    </message>
    <message numerus="yes">
        <location line="+166"/>
        <source>%n y</source>
        <translation>
            <numerusform>%n 岁</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+13"/>
        <source>%n min</source>
        <translation>
            <numerusform>%n 分钟</numerusform>
        </translation>
    </message>
    <message>
        <location line="-175"/>
        <source>Male</source>
        <translation>男</translation>
    </message>
    <message>
        <location line="+1"/>
        <location filename="../../workstation/ui/doctor/queue_view.py" line="+253"/>
        <source>Female</source>
        <translation>女</translation>
    </message>
</context>
<context>
    <name>QueueView</name>
    <message>
        <location filename="../../workstation/ui/doctor/queue_view.py" line="-31"/>
        <source>%1 waiting · %2 today</source>
        <translation>候诊 %1 人 · 今日 %2 人</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>No patient has checked in yet. New patients appear here as soon as they check in.</source>
        <translation>今天还没有患者签到。患者签到后会立即出现在这里。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>No patient matches “%1”.</source>
        <translation>没有与“%1”匹配的患者。</translation>
    </message>
    <message>
        <location line="+34"/>
        <source>Video call</source>
        <translation>视频呼叫</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Today&apos;s queue</source>
        <translation>今日候诊队列</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Filter: name, pinyin initials or number</source>
        <translation>筛选：姓名、拼音首字母或预约号</translation>
    </message>
</context>
<context>
    <name>ReasonDialog</name>
    <message>
        <location filename="../../workstation/ui/doctor/prescription_editor.py" line="-1154"/>
        <source>2 to 200 characters; kept in the audit trail.</source>
        <translation>2 至 200 个字，将记入审计记录。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>ReconciliationPage</name>
    <message>
        <location filename="../../workstation/ui/refunds/reconciliation_page.py" line="+107"/>
        <source>No payments on this day.</source>
        <translation>当日无收款记录。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>No refunds on this day.</source>
        <translation>当日无退费记录。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>No refund exceptions.</source>
        <translation>暂无退款异常。</translation>
    </message>
    <message>
        <location line="+73"/>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>The reconciliation could not be loaded: %1</source>
        <translation>对账数据加载失败：%1</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Updated %1</source>
        <translation>更新于 %1</translation>
    </message>
    <message numerus="yes">
        <location line="+9"/>
        <source>%n transaction(s)</source>
        <translation>
            <numerusform>共 %n 笔</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+9"/>
        <source>%n under review or on the way</source>
        <translation>
            <numerusform>%n 笔审核中或退费中</numerusform>
        </translation>
    </message>
    <message>
        <location line="+2"/>
        <source>to send again</source>
        <translation>待重新发起</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>paid − refunded</source>
        <translation>收款 − 已退费</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Payments (%1)</source>
        <translation>收款记录（%1）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refunds (%1)</source>
        <translation>退费记录（%1）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Exceptions (%1)</source>
        <translation>退款异常（%1）</translation>
    </message>
    <message>
        <location line="+14"/>
        <location line="+11"/>
        <source>Export reconciliation</source>
        <translation>导出对账单</translation>
    </message>
    <message>
        <location line="-10"/>
        <source>CSV files (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>The file could not be written: %1</source>
        <translation>文件写入失败：%1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Day</source>
        <translation>对账日期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The day before</source>
        <translation>前一天</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The day after</source>
        <translation>后一天</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Today</source>
        <translation>今天</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reload</source>
        <translation>刷新</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Export CSV…</source>
        <translation>导出CSV…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>For the accountant: UTF-8 (opens in Excel), amounts in yuan</source>
        <translation>供财务对账：UTF-8 编码（可用 Excel 打开），金额单位为元</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Payments received</source>
        <translation>当日收款</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Refunded</source>
        <translation>已退费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refunds not yet completed</source>
        <translation>未完成退费</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Refund exceptions</source>
        <translation>退款异常</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Net received</source>
        <translation>实收净额</translation>
    </message>
</context>
<context>
    <name>RefundDetailPanel</name>
    <message>
        <location filename="../../workstation/ui/refunds/refund_detail.py" line="+154"/>
        <source>(patient unknown)</source>
        <translation>（患者信息未知）</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>%1 (paid %2)</source>
        <translation>%1（缴费时间 %2）</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>What the payment gateway said</source>
        <translation>支付渠道反馈</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The gateway closed this refund (for example the patient&apos;s account was closed). Sending it again creates a new refund number.</source>
        <translation>支付渠道已关闭此笔退款（例如患者的账户已注销）。重新发起将生成新的退款单号。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The gateway could not pay the money back. Sending it again uses the same refund number, so it can never be paid twice.</source>
        <translation>支付渠道未能退回款项。重新发起将使用原退款单号，因此不会重复退款。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Rejected because</source>
        <translation>拒绝原因</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The patient&apos;s reason</source>
        <translation>患者申请理由</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Reason</source>
        <translation>退费原因</translation>
    </message>
    <message>
        <location line="+39"/>
        <source>Approve and refund %1</source>
        <translation>同意退费 %1</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Approving… the refund starts as soon as the server has it.</source>
        <translation>正在提交同意…服务器收到后将立即发起退费。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Rejecting… the patient is told by text message.</source>
        <translation>正在提交拒绝…系统将以短信通知患者。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sending the refund again…</source>
        <translation>正在重新发起退费…</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Approve and refund</source>
        <translation>同意退费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reject…</source>
        <translation>拒绝…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Send again…</source>
        <translation>重新发起…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A failed refund is sent again under the same refund number; a closed one under a new number</source>
        <translation>退款异常的以原退款单号重新发起；退款关闭的以新的退款单号重新发起</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Refund</source>
        <translation>退费金额</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Paid</source>
        <translation>实付金额</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>ID number</source>
        <translation>证件号码</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Mobile</source>
        <translation>手机号</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Appointment</source>
        <translation>预约状态</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Order no.</source>
        <translation>商户订单号</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Created</source>
        <translation>发起时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Refund no.</source>
        <translation>退款单号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refund type</source>
        <translation>退费方式</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Handled by</source>
        <translation>经办人</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sent to gateway</source>
        <translation>提交渠道时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Money back</source>
        <translation>退费时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Gateway status</source>
        <translation>渠道状态</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Gateway queries</source>
        <translation>渠道查询次数</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Select an application on the left to review it.</source>
        <translation>请在左侧列表中选择要审核的退号申请。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Select a refund on the left to see what went wrong.</source>
        <translation>请在左侧列表中选择一笔退费，查看异常原因。</translation>
    </message>
</context>
<context>
    <name>RefundModels</name>
    <message>
        <location filename="../../workstation/models/refunds.py" line="+56"/>
        <source>Awaiting review</source>
        <translation>待审核</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Approved</source>
        <translation>已同意</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Rejected</source>
        <translation>已拒绝</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+26"/>
        <source>Refunding</source>
        <translation>退费中</translation>
    </message>
    <message>
        <location line="-25"/>
        <location line="+26"/>
        <source>Refunded</source>
        <translation>已退费</translation>
    </message>
    <message>
        <location line="-25"/>
        <source>Refund failed</source>
        <translation>退款异常</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refund closed</source>
        <translation>退款关闭</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Cancelled before the visit</source>
        <translation>就诊前取消</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Patient&apos;s application</source>
        <translation>退号申请</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Window refund</source>
        <translation>窗口退费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Clinic stopped</source>
        <translation>医生停诊</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Visit could not take place</source>
        <translation>号源无法就诊</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Drug fee refund</source>
        <translation>药费退费</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Application under review</source>
        <translation>退号申请审核中</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Application rejected</source>
        <translation>退费申请未通过</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Consultation fee</source>
        <translation>诊费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Drug fee</source>
        <translation>药费</translation>
    </message>
    <message>
        <location line="+6"/>
        <location line="+20"/>
        <source>Awaiting payment</source>
        <translation>待缴费</translation>
    </message>
    <message>
        <location line="-19"/>
        <source>Booked</source>
        <translation>已预约</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Checked in</source>
        <translation>已签到</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Waiting for the doctor</source>
        <translation>候诊中</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>In consultation</source>
        <translation>接诊中</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Visit finished</source>
        <translation>已就诊</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Missed</source>
        <translation>未到</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancelled by the hospital</source>
        <translation>院方取消</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+13"/>
        <source>Expired</source>
        <translation>已过期</translation>
    </message>
    <message>
        <location line="-6"/>
        <source>Paid, not dispensed</source>
        <translation>已缴费，未发药</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dispensed</source>
        <translation>已发药</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Shipped</source>
        <translation>已发货</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Drug fee refunded</source>
        <translation>药费已退</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Issued</source>
        <translation>已开具</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Voided</source>
        <translation>已作废</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Paid</source>
        <translation>已缴费</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Refunded in full</source>
        <translation>已全额退费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Partly refunded</source>
        <translation>部分退费</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Waiting</source>
        <comment>column</comment>
        <translation>已等待</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Patient</source>
        <comment>column</comment>
        <translation>患者</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Mobile</source>
        <comment>column</comment>
        <translation>手机号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Fee</source>
        <comment>column</comment>
        <translation>费用类型</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Appointment no.</source>
        <comment>column</comment>
        <translation>预约号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Doctor · department</source>
        <comment>column</comment>
        <translation>医生 · 科室</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Visit time</source>
        <comment>column</comment>
        <translation>就诊时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Amount</source>
        <comment>column</comment>
        <translation>金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Patient&apos;s reason</source>
        <comment>column</comment>
        <translation>申请理由</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Changed</source>
        <comment>column</comment>
        <translation>更新时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Created</source>
        <comment>column</comment>
        <translation>发起时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refund no.</source>
        <comment>column</comment>
        <translation>退款单号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Order no.</source>
        <comment>column</comment>
        <translation>商户订单号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refund type</source>
        <comment>column</comment>
        <translation>退费方式</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Status</source>
        <comment>column</comment>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Gateway&apos;s answer</source>
        <comment>column</comment>
        <translation>渠道反馈</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paid</source>
        <comment>column</comment>
        <translation>实付金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paid at</source>
        <comment>column</comment>
        <translation>缴费时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refunded</source>
        <comment>column</comment>
        <translation>已退金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refunded at</source>
        <comment>column</comment>
        <translation>退费时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refundable</source>
        <comment>column</comment>
        <translation>可退金额</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refund</source>
        <comment>column</comment>
        <translation>退费状态</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Handled by</source>
        <comment>column</comment>
        <translation>经办人</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Not yet accepted</source>
        <translation>渠道未受理</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Processing</source>
        <translation>退款处理中</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paid back</source>
        <translation>退款成功</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Abnormal: could not be paid back</source>
        <translation>退款异常：未能退回</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Closed</source>
        <translation>退款关闭</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>The gateway closed the refund: send it again under a new number</source>
        <translation>支付渠道已关闭该退款，需以新的退款单号重新发起</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The gateway could not pay it back (e.g. the patient&apos;s card or account)</source>
        <translation>支付渠道未能退回款项（如患者银行卡或账户异常）</translation>
    </message>
    <message>
        <location line="+287"/>
        <location line="+22"/>
        <source>sending…</source>
        <translation>提交中…</translation>
    </message>
    <message>
        <location line="+141"/>
        <source>Order %1</source>
        <translation>商户订单号 %1</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Not paid</source>
        <translation>未缴费</translation>
    </message>
</context>
<context>
    <name>RefundReasonDialog</name>
    <message>
        <location filename="../../workstation/ui/refunds/dialogs.py" line="+223"/>
        <source>The patient no longer needs the medicine</source>
        <translation>患者不再需要该药品</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The pharmacy cannot supply the medicine</source>
        <translation>药房无法供药</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The doctor changed the prescription</source>
        <translation>医生已更改处方</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The patient asked at the window to cancel</source>
        <translation>患者到窗口申请取消</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The visit could not take place (system or network problem)</source>
        <translation>因系统或网络故障未能就诊</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The doctor could not see the patient</source>
        <translation>医生未能接诊</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Booked twice by mistake</source>
        <translation>误操作重复预约</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Enter the reason for the refund (at least 2 characters).</source>
        <translation>请填写退费原因（至少 2 个字）。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Nothing is left to refund on this order.</source>
        <translation>该订单已无可退金额。</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>The prescription is marked refunded: the pharmacy will not dispense it.</source>
        <translation>处方将标记为已退费，药房不再发药。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The drug fee goes back the way it was paid (1–15 working days); the patient is told by text message.</source>
        <translation>药费将原路退回（1–15 个工作日到账），系统会以短信通知患者。</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>The patient&apos;s application waiting for review is approved by this refund.</source>
        <translation>该患者待审核的退号申请将随本次退费一并同意。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The patient is in consultation now: the video call is ended and the appointment cancelled.</source>
        <translation>患者正在就诊：视频通话将被结束，预约将被取消。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The appointment is cancelled and its place goes back to the schedule for other patients.</source>
        <translation>预约将被取消，号源释放给其他患者预约。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The appointment is cancelled. Its time has passed, so the place is not released.</source>
        <translation>预约将被取消。就诊时间已过，号源不再释放。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The fee goes back the way it was paid (1–15 working days); the patient is told by text message.</source>
        <translation>费用将原路退回（1–15 个工作日到账），系统会以短信通知患者。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Refund the drug fee</source>
        <translation>药费退费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Drug fee of the prescription written at appointment %1</source>
        <translation>预约 %1 所开处方的药费</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Window refund</source>
        <translation>窗口退费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Consultation fee of appointment %1</source>
        <translation>预约 %1 的诊费</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Refund</source>
        <translation>退费金额</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Reason (required; shown on the receipt and in the records)</source>
        <translation>退费原因（必填，将显示在退费凭证和记录中）</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Choose or type the reason</source>
        <translation>选择或输入退费原因</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refund %1</source>
        <translation>确认退费 %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>RefundReceipt</name>
    <message>
        <location filename="../../workstation/ui/refunds/printing.py" line="+41"/>
        <source>The receipt could not be prepared: %1</source>
        <translation>退费凭证生成失败：%1</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Refund receipt</source>
        <translation>退费凭证</translation>
    </message>
</context>
<context>
    <name>RejectDialog</name>
    <message>
        <location filename="../../workstation/ui/refunds/dialogs.py" line="-199"/>
        <source>The reasons could not be loaded from the server. Close this and try again.</source>
        <translation>无法从服务器加载拒绝原因，请关闭后重试。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Choose why the application is rejected.</source>
        <translation>请选择拒绝原因。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>“Other” needs an explanation for the patient (at least 2 characters).</source>
        <translation>选择“其他”时须填写给患者的说明（至少 2 个字）。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The explanation is too long.</source>
        <translation>说明内容过长。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Explanation for the patient (required)</source>
        <translation>给患者的说明（必填）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Explanation for the patient (optional)</source>
        <translation>给患者的说明（选填）</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Reject refund application</source>
        <translation>拒绝退号申请</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Reject %1&apos;s application to return appointment %2 (%3)? The fee of %4 stays paid. The patient reads your reason in a text message and may apply again.</source>
        <translation>确定拒绝 %1 对预约 %2（%3）的退号申请吗？已缴纳的 %4 将不予退还。患者会通过短信收到您填写的原因，并可再次申请。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Reason</source>
        <translation>拒绝原因</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>e.g. the doctor had already seen the patient at 09:20</source>
        <translation>例如：医生已于 09:20 接诊该患者</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reject application</source>
        <translation>拒绝申请</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>ReturnDialog</name>
    <message>
        <location filename="../../workstation/ui/review/return_dialog.py" line="+80"/>
        <source>Inappropriate dose or directions</source>
        <translation>用法用量不适宜</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Duplicate medication</source>
        <translation>重复用药</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Incompatibility or interaction</source>
        <translation>配伍禁忌或相互作用</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Medication does not match the diagnosis</source>
        <translation>用药与诊断不符</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Off-label use</source>
        <translation>超说明书用药</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Conflicts with the patient&apos;s allergies</source>
        <translation>与患者过敏史冲突</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Other</source>
        <translation>其他</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Choose why the prescription is returned.</source>
        <translation>请选择退回原因。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Tell the doctor what to change (at least 2 characters).</source>
        <translation>请告诉医生需要修改的内容（至少 2 个字）。</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Return prescription</source>
        <translation>退回处方</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Return %1&apos;s prescription %2 to the doctor. The doctor sees the reason on the prescription, changes it and signs it again.</source>
        <translation>将 %1 的处方 %2 退回医生。医生会在处方上看到退回原因，修改后重新签名。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Reason</source>
        <translation>退回原因</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>What should the doctor change?</source>
        <translation>需要医生修改什么？</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>e.g. the daily dose of metformin exceeds 2 g; please check</source>
        <translation>例如：二甲双胍日剂量超过 2g，请核对</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Return to doctor</source>
        <translation>退回医生</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>ReviewListModel</name>
    <message>
        <location filename="../../workstation/models/review.py" line="+47"/>
        <source>Draft</source>
        <translation>草稿</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Awaiting review</source>
        <translation>待审核</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+1"/>
        <source>Approved</source>
        <translation>审核通过</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Returned</source>
        <translation>已退回</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Awaiting payment</source>
        <translation>待缴费</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Paid, to dispense</source>
        <translation>已缴费，待发药</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dispensed</source>
        <translation>已发药</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Shipped</source>
        <translation>已发货</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Expired</source>
        <translation>已过期</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Voided</source>
        <translation>已作废</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Male</source>
        <translation>男</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Female</source>
        <translation>女</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>just now</source>
        <translation>刚刚</translation>
    </message>
    <message numerus="yes">
        <location line="+2"/>
        <source>%n min</source>
        <translation>
            <numerusform>%n 分钟</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+2"/>
        <source>%n d</source>
        <comment>days</comment>
        <translation>
            <numerusform>%n 天</numerusform>
        </translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 h %2 min</source>
        <translation>%1 小时 %2 分钟</translation>
    </message>
    <message>
        <location line="+177"/>
        <location line="+6"/>
        <source>Patient</source>
        <comment>column</comment>
        <translation>患者</translation>
    </message>
    <message>
        <location line="-5"/>
        <location line="+6"/>
        <source>Doctor</source>
        <comment>column</comment>
        <translation>医生</translation>
    </message>
    <message>
        <location line="-5"/>
        <location line="+6"/>
        <source>Department</source>
        <comment>column</comment>
        <translation>科室</translation>
    </message>
    <message>
        <location line="-5"/>
        <source>Signed</source>
        <comment>column</comment>
        <translation>签名时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Waiting</source>
        <comment>column</comment>
        <translation>等待时长</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Time</source>
        <comment>column</comment>
        <translation>时间</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Status</source>
        <comment>column</comment>
        <translation>状态</translation>
    </message>
    <message numerus="yes">
        <location line="+18"/>
        <source>The doctor overrode %n check(s): read the reasons</source>
        <translation>
            <numerusform>医生对 %n 项审查问题坚持用药，请查看理由</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+21"/>
        <source>%n y</source>
        <comment>age</comment>
        <translation>
            <numerusform>%n 岁</numerusform>
        </translation>
    </message>
    <message>
        <location line="+18"/>
        <location line="+3"/>
        <source>sending…</source>
        <translation>发送中…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>pickup</source>
        <translation>自取</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>delivery</source>
        <translation>配送</translation>
    </message>
</context>
<context>
    <name>Roles</name>
    <message>
        <location filename="../../workstation/ui/base_window.py" line="+20"/>
        <source>Doctor</source>
        <translation>医生</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Pharmacist</source>
        <translation>药师</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refund window clerk</source>
        <translation>窗口收费员</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Administrator</source>
        <translation>管理员</translation>
    </message>
</context>
<context>
    <name>SearchPage</name>
    <message>
        <location filename="../../workstation/ui/refunds/search_page.py" line="+78"/>
        <source>Nothing found for “%1”.</source>
        <translation>未找到与“%1”相关的订单。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Type a mobile number, ID number, name, order, appointment or refund number and press Enter.</source>
        <translation>输入手机号、证件号码、姓名、商户订单号、预约号或退款单号，按回车键查询。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Type what to search for.</source>
        <translation>请输入查询内容。</translation>
    </message>
    <message>
        <location line="+81"/>
        <source>Mobile, ID number, name, order / appointment / refund number</source>
        <translation>手机号、证件号码、姓名、订单号/预约号/退款单号</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search</source>
        <translation>查询</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Enter searches. A name finds every patient whose name contains it.</source>
        <translation>按回车键查询。按姓名查询时，列出姓名中包含所输入文字的所有患者。</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../../workstation/ui/settings_dialog.py" line="+95"/>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Server address</source>
        <translation>服务器地址</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Empty: the built-in demo server</source>
        <translation>留空：使用内置演示服务器</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>For example https://hospital.example.cn. Leave it empty to run the built-in demo server on this computer.</source>
        <translation>例如 https://hospital.example.cn。留空则在本机运行内置演示服务器。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sounds</source>
        <translation>提示音</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Play a sound when a patient starts waiting</source>
        <translation>有患者开始候诊时播放提示音</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Video call picture</source>
        <translation>视频问诊画面</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Video call sound</source>
        <translation>视频问诊声音</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Camera if present, else test pattern</source>
        <translation>有摄像头时用摄像头，否则用测试图像</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Camera</source>
        <translation>摄像头</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Test pattern</source>
        <translation>测试图像</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Microphone if present, else test tone</source>
        <translation>有麦克风时用麦克风，否则用测试音</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Microphone</source>
        <translation>麦克风</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Test tone</source>
        <translation>测试音</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The server address must start with http:// or https://</source>
        <translation>服务器地址须以 http:// 或 https:// 开头</translation>
    </message>
</context>
<context>
    <name>SignInDialog</name>
    <message>
        <location filename="../../workstation/ui/signin.py" line="+153"/>
        <source>Built-in demo server on this computer (%1)</source>
        <translation>本机内置演示服务器（%1）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Built-in demo server on this computer (starting)</source>
        <translation>本机内置演示服务器（正在启动）</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Sign in again</source>
        <translation>重新登录</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Sign in — Clinic workstation</source>
        <translation>登录 — 互联网医院工作站</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Internet hospital workstation</source>
        <translation>互联网医院医生工作站</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Your session has ended. Sign in again to continue; open work and drafts are kept.</source>
        <translation>登录已过期，请重新登录后继续。已打开的工作和草稿都会保留。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Online revisit service · staff sign-in</source>
        <translation>在线复诊服务 · 医护人员登录</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Username</source>
        <translation>用户名</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+2"/>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <location line="-1"/>
        <source>e.g. doctor1</source>
        <translation>例如 doctor1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Server</source>
        <translation>服务器</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Settings…</source>
        <translation>设置…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Server address, language and sounds</source>
        <translation>服务器地址、语言和提示音</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Signing in…</source>
        <translation>正在登录…</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Sign in</source>
        <translation>登录</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Enter your username and password.</source>
        <translation>请输入用户名和密码。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Wrong username or password. Check them and try again (the account locks after repeated failures).</source>
        <translation>用户名或密码错误，请核对后重试（多次输错后账号将被锁定）。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>This account is locked after too many failed attempts. Try again after %1, or ask the administrator to unlock it.</source>
        <translation>密码错误次数过多，账号已锁定。请于 %1 后重试，或联系管理员解锁。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>This account is locked after too many failed attempts. Try again later, or ask the administrator to unlock it.</source>
        <translation>密码错误次数过多，账号已锁定。请稍后重试，或联系管理员解锁。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>This account is disabled. Please contact the administrator.</source>
        <translation>该账号已停用，请联系管理员。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cannot reach the server %1. Check the network connection and the server address in Settings.</source>
        <translation>无法连接服务器 %1。请检查网络连接，以及“设置”中的服务器地址。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The built-in demo server could not start: %1</source>
        <translation>内置演示服务器启动失败：%1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The server refused the sign-in: %1</source>
        <translation>服务器拒绝登录：%1</translation>
    </message>
    <message>
        <location line="+44"/>
        <source>Starting the built-in demo server on this computer…</source>
        <translation>正在本机启动内置演示服务器…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Signing in to the demo server as doctor1…</source>
        <translation>正在以 doctor1 身份登录演示服务器…</translation>
    </message>
</context>
<context>
    <name>StaffWindow</name>
    <message>
        <location filename="../../workstation/ui/base_window.py" line="+57"/>
        <source>&amp;Workstation</source>
        <translation>工作站(&amp;W)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Settings…</source>
        <translation>设置(&amp;S)…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sign &amp;out</source>
        <translation>退出登录(&amp;O)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;About</source>
        <translation>关于(&amp;A)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Session ended — sign in again</source>
        <translation>登录已过期 — 点击重新登录</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Signed in: %1 (%2)</source>
        <translation>当前用户：%1（%2）</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>About</source>
        <translation>关于</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Internet hospital workstation — online revisit service.
Queue, patient chart and consultation for doctors; prescription review, refunds and administration for the other roles.</source>
        <translation>互联网医院工作站 — 在线复诊服务。
为医生提供候诊队列、患者病历和接诊；为其他岗位提供处方审核、退费和系统管理。</translation>
    </message>
</context>
<context>
    <name>States</name>
    <message>
        <location filename="../../workstation/ui/widgets.py" line="+21"/>
        <source>Checked in</source>
        <translation>已签到</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Waiting</source>
        <translation>候诊</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>In consultation</source>
        <translation>接诊中</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Interrupted</source>
        <translation>中断</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Finished</source>
        <translation>已完成</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Missed</source>
        <translation>未到</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancelled by hospital</source>
        <translation>医院取消</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Booked</source>
        <translation>已预约</translation>
    </message>
</context>
<context>
    <name>VideoPanel</name>
    <message>
        <location filename="../../workstation/ui/doctor/video_panel.py" line="+269"/>
        <source>Screen: %1</source>
        <translation>屏幕：%1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Window: %1</source>
        <translation>窗口：%1</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Not called yet</source>
        <translation>尚未呼叫</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Calling…</source>
        <translation>正在呼叫…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ringing — waiting for the patient to answer</source>
        <translation>呼叫中，等待患者接听</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>In call</source>
        <translation>通话中</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Interrupted</source>
        <translation>通话中断</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+52"/>
        <source>Call ended</source>
        <translation>通话已结束</translation>
    </message>
    <message>
        <location line="-46"/>
        <source>The patient left the video page.</source>
        <translation>患者已离开视频页面。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The connection to the patient was lost.</source>
        <translation>与患者的连接已断开。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The connection could not be established.</source>
        <translation>无法建立连接。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The patient hung up.</source>
        <translation>患者已挂断。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The patient did not answer.</source>
        <translation>患者未接听。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>You ended the call.</source>
        <translation>您已结束通话。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The visit is finished.</source>
        <translation>本次就诊已结束。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The call could not be started.</source>
        <translation>无法发起通话。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The refund window refunded this visit&apos;s fee.</source>
        <translation>退费窗口已为本次就诊办理退费。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A new call to the patient replaced this one.</source>
        <translation>已向患者发起新的呼叫，本次通话已结束。</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Video visit · %1</source>
        <translation>视频问诊 · %1</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Unmute</source>
        <translation>取消静音</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Mute</source>
        <translation>静音</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Camera on</source>
        <translation>打开摄像头</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Camera off</source>
        <translation>关闭摄像头</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stop sharing</source>
        <translation>停止共享</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Share screen…</source>
        <translation>共享屏幕…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ask for prescription consent</source>
        <translation>请求处方知情同意</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Invite again</source>
        <translation>重新邀请</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>End call</source>
        <translation>结束通话</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Me (screen)</source>
        <translation>我（屏幕）</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Me</source>
        <translation>我</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+27"/>
        <source>Waiting for the patient&apos;s picture…</source>
        <translation>等待患者画面…</translation>
    </message>
    <message>
        <location line="-24"/>
        <source>Call interrupted</source>
        <translation>通话中断</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Prescription consent: not asked</source>
        <translation>处方知情同意：尚未请求</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Consent given %1 (text v%2)</source>
        <translation>患者已同意 %1（同意书第 %2 版）</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Consent declined %1</source>
        <translation>患者不同意 %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Consent asked — waiting for the patient</source>
        <translation>已请求同意，等待患者确认</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Good</source>
        <translation>良好</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Fair</source>
        <translation>一般</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Poor</source>
        <translation>较差</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Line: %1</source>
        <translation>线路：%1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>round trip %1 ms</source>
        <translation>往返 %1 毫秒</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 fps</source>
        <translation>%1 帧/秒</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>loss %1%</source>
        <translation>丢包 %1%</translation>
    </message>
</context>
<context>
    <name>WaitingAlert</name>
    <message>
        <location filename="../../workstation/ui/alerts.py" line="+152"/>
        <source>1 patient is waiting: %1</source>
        <translation>有 1 位患者正在候诊：%1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 patients are waiting, the latest: %2</source>
        <translation>有 %1 位患者正在候诊，最新：%2</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Sound is off during the consultation.</source>
        <translation>接诊期间提示音已静音。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Show</source>
        <translation>查看</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Select the latest waiting patient in the queue</source>
        <translation>在队列中选中最新候诊的患者</translation>
    </message>
</context>
</TS>
