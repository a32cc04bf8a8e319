<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name>ClerkWindow</name>
    <message numerus="yes">
        <location filename="../../workstation/ui/clerk.py" line="+299"/>
        <source>%n new refund application(s) to review.</source>
        <translation>
            <numerusform>%n new refund application to review.</numerusform>
            <numerusform>%n new refund applications to review.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+277"/>
        <source>%n waiting, oldest first</source>
        <translation>
            <numerusform>%n waiting, oldest first</numerusform>
            <numerusform>%n waiting, oldest first</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+3"/>
        <source>%n to send again, newest first</source>
        <translation>
            <numerusform>%n to send again, newest first</numerusform>
            <numerusform>%n to send again, newest first</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+21"/>
        <source>%n action(s) have not reached the server yet. They are kept on this computer and sent the next time you sign in. Sign out now?</source>
        <translation>
            <numerusform>%n action has not reached the server yet. It is kept on this computer and sent the next time you sign in. Sign out now?</numerusform>
            <numerusform>%n actions have not reached the server yet. They are kept on this computer and sent the next time you sign in. Sign out now?</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ClinicStopDialog</name>
    <message numerus="yes">
        <location filename="../../workstation/ui/doctor/clinic_stop_dialog.py" line="+170"/>
        <source>%n booked patient(s) in this period will be cancelled and refunded.</source>
        <translation>
            <numerusform>%n booked patient in this period will be cancelled and refunded.</numerusform>
            <numerusform>%n booked patients in this period will be cancelled and refunded.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+68"/>
        <source>%n booked patient(s) will be cancelled and refunded. This cannot be undone.</source>
        <translation>
            <numerusform>%n booked patient will be cancelled and refunded. This cannot be undone.</numerusform>
            <numerusform>%n booked patients will be cancelled and refunded. This cannot be undone.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>DetailPanel</name>
    <message numerus="yes">
        <location filename="../../workstation/ui/review/detail_panel.py" line="+133"/>
        <source>%n check(s) overridden</source>
        <translation>
            <numerusform>%n check overridden</numerusform>
            <numerusform>%n checks overridden</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+10"/>
        <source>%n years</source>
        <comment>age</comment>
        <translation>
            <numerusform>%n year</numerusform>
            <numerusform>%n years</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+81"/>
        <source>Valid %n day(s)</source>
        <translation>
            <numerusform>Valid %n day</numerusform>
            <numerusform>Valid %n days</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>DoctorWindow</name>
    <message numerus="yes">
        <location filename="../../workstation/ui/doctor/main_window.py" line="+445"/>
        <source>Clinic stop declared; %n appointment(s) cancelled.</source>
        <translation>
            <numerusform>Clinic stop declared; %n appointment cancelled.</numerusform>
            <numerusform>Clinic stop declared; %n appointments cancelled.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+84"/>
        <source>%n action(s) have not reached the server yet. They are kept on this computer and sent the next time you sign in. Sign out now?</source>
        <translation>
            <numerusform>%n action has not reached the server yet. It is kept on this computer and sent the next time you sign in. Sign out now?</numerusform>
            <numerusform>%n actions have not reached the server yet. They are kept on this computer and sent the next time you sign in. Sign out now?</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>PharmacistWindow</name>
    <message numerus="yes">
        <location filename="../../workstation/ui/pharmacist.py" line="+332"/>
        <source>%n action(s) have not reached the server yet. They are kept on this computer and sent the next time you sign in. Sign out now?</source>
        <translation>
            <numerusform>%n action has not reached the server yet. It is kept on this computer and sent the next time you sign in. Sign out now?</numerusform>
            <numerusform>%n actions have not reached the server yet. They are kept on this computer and sent the next time you sign in. Sign out now?</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>PrintPreviewDialog</name>
    <message numerus="yes">
        <location filename="../../workstation/ui/print_preview.py" line="+303"/>
        <source>%n page(s)</source>
        <translation>
            <numerusform>%n page</numerusform>
            <numerusform>%n pages</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>QueueModel</name>
    <message numerus="yes">
        <location filename="../../workstation/models/queue.py" line="+244"/>
        <source>%n y</source>
        <translation>
            <numerusform>%n y</numerusform>
            <numerusform>%n y</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+13"/>
        <source>%n min</source>
        <translation>
            <numerusform>%n min</numerusform>
            <numerusform>%n min</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ReconciliationPage</name>
    <message numerus="yes">
        <location filename="../../workstation/ui/refunds/reconciliation_page.py" line="+240"/>
        <source>%n transaction(s)</source>
        <translation>
            <numerusform>%n transaction</numerusform>
            <numerusform>%n transactions</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+9"/>
        <source>%n under review or on the way</source>
        <translation>
            <numerusform>%n under review or on the way</numerusform>
            <numerusform>%n under review or on the way</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ReviewListModel</name>
    <message numerus="yes">
        <location filename="../../workstation/models/review.py" line="+71"/>
        <source>%n min</source>
        <translation>
            <numerusform>%n min</numerusform>
            <numerusform>%n min</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+2"/>
        <source>%n d</source>
        <comment>days</comment>
        <translation>
            <numerusform>%n d</numerusform>
            <numerusform>%n d</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+206"/>
        <source>The doctor overrode %n check(s): read the reasons</source>
        <translation>
            <numerusform>The doctor overrode %n check: read the reason</numerusform>
            <numerusform>The doctor overrode %n checks: read the reasons</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+21"/>
        <source>%n y</source>
        <comment>age</comment>
        <translation>
            <numerusform>%n y</numerusform>
            <numerusform>%n y</numerusform>
        </translation>
    </message>
</context>
</TS>
