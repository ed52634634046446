"""Generate bounces in the formats of five MTAs (Postfix, Exim, Sendmail, qmail, Exchange) around
diagnostics that receivers publish; each diagnostic twice, in two formats.

    python generate.py OUT && perl label.pl OUT > OUT/labels.jsonl   # labels: Sisimai 4.25 (Debian libsisimai-perl)
"""
import json, sys, itertools
from pathlib import Path
OUT = Path(sys.argv[1]); OUT.mkdir(parents=True, exist_ok=True)
# (diagnostic, status, stage) — stage: RCPT or DATA
DIAGS = [
 ("550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. Learn more at https://support.google.com/mail/?p=NoSuchUser", "5.1.1", "RCPT"),
 ("550-5.7.1 [192.0.2.25] Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked.", "5.7.1", "DATA"),
 ("552-5.2.2 The email account that you tried to reach is over quota and inactive.", "5.2.2", "RCPT"),
 ("421-4.7.0 [192.0.2.25] Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited.", "4.7.0", "DATA"),
 ("550-5.7.26 This message does not have authentication information or fails to pass authentication checks (SPF or DKIM). To best protect our users from spam, the message has been blocked.", "5.7.26", "DATA"),
 ("550-5.7.25 The IP address sending this message does not have a PTR record setup, or the corresponding forward DNS entry does not point to the sending IP.", "5.7.25", "DATA"),
 ("550-5.2.1 The email account that you tried to reach is disabled.", "5.2.1", "RCPT"),
 ("550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [AM0PR01MB1234.eurprd01.prod.exchangelabs.com]", "5.5.0", "RCPT"),
 ("550 5.7.1 Unfortunately, messages from [192.0.2.25] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).", "5.7.1", "RCPT"),
 ("550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [DB5EUR01FT012.eop-EUR01.prod.protection.outlook.com]", "5.4.1", "RCPT"),
 ("554 5.7.9 Message not accepted for policy reasons.  See https://senders.yahooinc.com/error-codes", "5.7.9", "DATA"),
 ("421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://senders.yahooinc.com/error-codes", "4.7.0", "MAIL"),
 ("552 1 Requested mail action aborted, mailbox not found", "5.0.0", "RCPT"),
 ("550 5.1.1 <kijitora@example.org>: Recipient address rejected: User unknown in virtual mailbox table", "5.1.1", "RCPT"),
 ("554 5.7.1 Service unavailable; Client host [192.0.2.25] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.25", "5.7.1", "RCPT"),
 ("452 4.2.2 Mailbox full", "4.2.2", "RCPT"),
 ("552 5.3.4 Message size exceeds fixed maximum message size", "5.3.4", "DATA"),
 ("550 5.7.1 <kijitora@example.org>: Relay access denied", "5.7.1", "RCPT"),
 ("554 5.7.1 Message rejected: Email address is not verified. The following identities failed the check in region US-EAST-1: sender@shop.example", "5.7.1", "MAIL"),
 ("550 5.7.0 Local Policy Violation", "5.7.0", "DATA"),
 ("550 5.7.1 Message rejected because it contains a virus: Eicar-Test-Signature", "5.7.1", "DATA"),
 ("421 4.7.0 Too many concurrent SMTP connections from this IP address; please try again later", "4.7.0", "CONN"),
 ("550 5.1.1 <kijitora@icloud.com>: user does not exist", "5.1.1", "RCPT"),
 ("554 5.7.1 <kijitora@example.org>: Recipient address rejected: Mail appeared to be SPAM or forged. Ask your Mail/DNS-Administrator to correct HELO and DNS MX settings or to get removed from DNSBLs", "5.7.1", "RCPT"),
 ("550 Rejected by header based Anti-Spoofing policy: sender@shop.example", "5.0.0", "DATA"),
 ("554 5.7.1 Mail rejected due to poor sender reputation", "5.7.1", "RCPT"),
 ("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", "5.1.10", "RCPT"),
 ("550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.", "5.7.708", "RCPT"),
 ("451 4.7.1 Greylisting in action, please come back later", "4.7.1", "RCPT"),
 ("550 5.7.1 Sender domain does not exist", "5.7.1", "MAIL"),
 ("553 5.1.8 <sender@shop.example>... Domain of sender address sender@shop.example does not exist", "5.1.8", "MAIL"),
 ("550 5.2.0 Mailbox unavailable. The recipient's mailbox is inactive.", "5.2.0", "RCPT"),
 ("450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.", "4.2.1", "RCPT"),
 ("550 5.7.350 Remote server returned message detected as spam -> 554 5.7.1 The message was rejected because of Sender Policy Framework violation", "5.7.350", "DATA"),
 ("554 5.4.14 Hop count exceeded - possible mail loop ATTR34", "5.4.14", "DATA"),
 ("550 5.7.606 Access denied, banned sending IP [192.0.2.25]. To request removal from this list please visit https://sender.office.com/", "5.7.606", "RCPT"),
 ("554 delivery error: dd This user doesn't have a yahoo.com account (kijitora@yahoo.com) [0] - mta1234.mail.ne1.yahoo.com", "5.0.0", "DATA"),
 ("550 5.1.1 Address rejected kijitora@example.org", "5.1.1", "RCPT"),
 ("550 Requested action not taken: mailbox unavailable", "5.0.0", "RCPT"),
 ("452 4.5.3 Too many recipients", "4.5.3", "RCPT"),
]
HOSTS = ["mx.example.org", "mx1.example.net"]
def postfix(i, rcpt, diag, status, stage):
    cmd = {"RCPT": "RCPT TO", "DATA": "end of DATA", "MAIL": "MAIL FROM", "CONN": "the initial greeting"}[stage]
    action = "delayed" if status.startswith("4") else "failed"
    return f"""Return-Path: <>
From: MAILER-DAEMON@mail.shop.example (Mail Delivery System)
To: sender@shop.example
Subject: Undelivered Mail Returned to Sender
Date: Mon, 24 Nov 2025 10:{i%60:02d}:00 +0000
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B{i}"
Message-Id: <fresh-{i}@mail.shop.example>

--B{i}
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.shop.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{rcpt}>: host {HOSTS[i%2]}[192.0.2.80] said: {diag} (in reply to {cmd}
    command)

--B{i}
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.shop.example
Arrival-Date: Mon, 24 Nov 2025 10:00:00 +0000

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: {action}
Status: {status}
Remote-MTA: dns; {HOSTS[i%2]}
Diagnostic-Code: smtp; {diag}

--B{i}
Content-Type: message/rfc822

From: sender@shop.example
To: {rcpt}
Subject: Hello
Message-Id: <orig-{i}@shop.example>

Hello.

--B{i}--
"""
def exim(i, rcpt, diag, status, stage):
    cmd = {"RCPT": f"RCPT TO:<{rcpt}>", "DATA": "end of data", "MAIL": "MAIL FROM:<sender@shop.example>", "CONN": "initial connection"}[stage]
    return f"""Return-path: <>
From: Mail Delivery System <Mailer-Daemon@mail.shop.example>
To: sender@shop.example
Subject: Mail delivery failed: returning message to sender
Date: Mon, 24 Nov 2025 11:{i%60:02d}:00 +0000
X-Failed-Recipients: {rcpt}
Auto-Submitted: auto-replied
Message-Id: <E1fresh-{i}@mail.shop.example>

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {rcpt}
    host {HOSTS[i%2]} [192.0.2.80]
    SMTP error from remote mail server after {cmd}:
    {diag}

------ This is a copy of the message, including all the headers. ------

From: sender@shop.example
To: {rcpt}
Subject: Hello

Hello.
"""
def sendmail(i, rcpt, diag, status, stage):
    cmd = {"RCPT": f"RCPT To:<{rcpt}>", "DATA": "DATA", "MAIL": "MAIL From:<sender@shop.example>", "CONN": "(connect)"}[stage]
    return f"""Return-Path: <MAILER-DAEMON@mail.shop.example>
From: Mail Delivery Subsystem <MAILER-DAEMON@mail.shop.example>
To: <sender@shop.example>
Subject: Returned mail: see transcript for details
Date: Mon, 24 Nov 2025 12:{i%60:02d}:00 +0000
Auto-Submitted: auto-generated (failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="S{i}/mail.shop.example"
Message-Id: <fresh-sm-{i}@mail.shop.example>

--S{i}/mail.shop.example

The original message was received at Mon, 24 Nov 2025 12:00:00 +0000
from localhost [127.0.0.1]

   ----- The following addresses had permanent fatal errors -----
<{rcpt}>
    (reason: {diag[:60]})

   ----- Transcript of session follows -----
... while talking to {HOSTS[i%2]}.:
>>> {cmd}
<<< {diag}
554 5.0.0 Service unavailable

--S{i}/mail.shop.example
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.shop.example
Received-From-MTA: DNS; localhost
Arrival-Date: Mon, 24 Nov 2025 12:00:00 +0000

Final-Recipient: RFC822; {rcpt}
Action: failed
Status: {status}
Remote-MTA: DNS; {HOSTS[i%2]}
Diagnostic-Code: SMTP; {diag}
Last-Attempt-Date: Mon, 24 Nov 2025 12:00:01 +0000

--S{i}/mail.shop.example
Content-Type: text/rfc822-headers

From: sender@shop.example
To: {rcpt}
Subject: Hello

--S{i}/mail.shop.example--
"""
def qmail(i, rcpt, diag, status, stage):
    said = {"RCPT": "does not like recipient.", "DATA": "failed after I sent the message.", "MAIL": "does not like sender.", "CONN": "but connection died."}[stage]
    return f"""Return-Path: <>
From: MAILER-DAEMON@mail.shop.example
To: sender@shop.example
Subject: failure notice
Date: 24 Nov 2025 13:{i%60:02d}:00 -0000
Message-Id: <fresh-q-{i}@mail.shop.example>

Hi. This is the qmail-send program at mail.shop.example.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{rcpt}>:
192.0.2.80 {said}
Remote host said: {diag}

--- Below this line is a copy of the message.

From: sender@shop.example
To: {rcpt}
Subject: Hello

Hello.
"""
def exchange(i, rcpt, diag, status, stage):
    return f"""From: postmaster@shop.example
To: sender@shop.example
Subject: Undeliverable: Hello
Date: Mon, 24 Nov 2025 14:{i%60:02d}:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="X{i}"
Message-ID: <fresh-x-{i}@shop.example>
X-MS-Exchange-Message-Is-Ndr:

--X{i}
Content-Type: text/plain; charset="us-ascii"

Delivery has failed to these recipients or groups:

{rcpt}
The email couldn't be delivered.

Diagnostic information for administrators:

Generating server: SHOP01.shop.example

{rcpt}
{HOSTS[i%2]}
Remote Server returned '{diag}'

--X{i}
Content-Type: message/delivery-status

Reporting-MTA: dns;SHOP01.shop.example
Received-From-MTA: dns;SHOP01.shop.example

Final-recipient: RFC822; {rcpt}
Action: failed
Status: {status}
Diagnostic-code: smtp;{diag}
Remote-MTA: dns;{HOSTS[i%2]}

--X{i}
Content-Type: text/rfc822-headers

From: sender@shop.example
To: {rcpt}
Subject: Hello

--X{i}--
"""
FORMATS = [postfix, exim, sendmail, qmail, exchange]
n = 0
for i, (diag, status, stage) in enumerate(DIAGS):
    for fmt in (FORMATS[i % 5], FORMATS[(i + 2) % 5]):
        n += 1
        rcpt = f"user{n}@example.org"
        (OUT / f"{fmt.__name__}-{n:03d}.eml").write_text(fmt(n, rcpt, diag.replace("kijitora@example.org", rcpt), status, stage).replace("\n", "\r\n"))
print(n)
