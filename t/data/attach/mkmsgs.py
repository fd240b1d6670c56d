#!/usr/bin/env python3
"""mkmsgs.py - compose the attachment-policy test messages with Python's email package.

    mkmsgs.py DIR               write every message to DIR/NAME.eml
    mkmsgs.py --big DIR N MB    write DIR/big.eml: N parts, about MB megabytes
    mkmsgs.py --bomb DIR        write DIR/bomb.eml: a zip of 13 MB that unpacks to 330 MB

Messages are written by an independent composer (the standard library's email
package, and zipfile/tarfile/gzip/7z for archives), not by mailsift, so the
tests judge mail as other software writes it.  Where a trick needs a header the
email package would not write by itself (RFC 2231 continuations, a name with a
trailing dot), the header text is given to the package as is: that is what a
sender who wants to get past a filter does.

Names tell the tests what to expect:
    bypass-*    gets past Postfix's classic body_checks regex; the shipped policy must stop it
    baseline-*  what the classic regex was written for: everyone stops it
    clean-*     ordinary mail: the shipped policy must let it through
    bad-*       malformed MIME: the shipped policy must hold or reject it
    arch-*      archive cases (formats, nesting, encryption)
"""
import base64
import gzip
import io
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from email import policy as email_policy
from email.generator import BytesGenerator
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.image import MIMEImage
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.message import EmailMessage


def pe_exe():
    """A small Windows PE header: libmagic calls it an executable."""
    pe = bytearray(1024)
    pe[0:2] = b'MZ'
    struct.pack_into('<I', pe, 0x3c, 0x80)
    pe[0x80:0x84] = b'PE\0\0'
    struct.pack_into('<HH', pe, 0x84, 0x14c, 1)
    struct.pack_into('<HHH', pe, 0x94, 0xe0, 0x102, 0x10b)
    pe[0x200:0x210] = b'This program...'
    return bytes(pe)


def pdf(text='Hello'):
    body = ('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n'
            '2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n'
            '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n'
            '%% ' + text + '\ntrailer<</Root 1 0 R>>\n%%EOF\n')
    return body.encode()


def png():
    def chunk(kind, data):
        c = struct.pack('>I', len(data)) + kind + data
        return c + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
    raw = b''.join(b'\0' + b'\xff\x00\x00' * 4 for _ in range(4))
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 4, 4, 8, 2, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))


def jpeg():
    return (b'\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00'
            + b'\xff\xdb\x00\x43\x00' + bytes(range(64)) + b'\xff\xd9')


def gif():
    return b'GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;'


def zip_of(files, flag_bits=0):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 5))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.flag_bits |= flag_bits
            z.writestr(info, data)
    return buf.getvalue()


def tar_of(files, mode='w'):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1700000000
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def rar4_stored(files):
    """A RAR 4 archive with stored (uncompressed) members, per the RAR 4 format notes."""
    def block(kind, flags, body, extra=b''):
        head = struct.pack('<BHH', kind, flags, 7 + len(body)) + body
        return struct.pack('<H', zlib.crc32(head) & 0xffff) + head + extra
    out = b'Rar!\x1a\x07\x00' + block(0x73, 0, struct.pack('<HI', 0, 0))
    for name, data in files:
        n = name.encode()
        body = struct.pack('<IIBIIBBHI', len(data), len(data), 2, zlib.crc32(data) & 0xffffffff,
                           0x5a000000, 20, 0x30, len(n), 0x20) + n
        out += block(0x74, 0x8000, body, data)
    return out + block(0x7b, 0x4000, b'')


def seven_zip(files, password=None, fmt='7z', encrypt_headers=False):
    """An archive made by the 7z program (p7zip), or None when it is not installed."""
    exe = shutil.which('7z') or shutil.which('7za')
    if exe is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, 'src')
        os.mkdir(src)
        for name, data in files:
            path = os.path.join(src, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'wb') as f:
                f.write(data)
        out = os.path.join(d, 'out.' + fmt)
        cmd = [exe, 'a', '-t' + fmt, out] + [name for name, _ in files]
        if password:
            cmd.insert(2, '-p' + password)
            if encrypt_headers:
                cmd.insert(2, '-mhe=on')
        subprocess.run(cmd, cwd=src, check=True, stdout=subprocess.DEVNULL)
        with open(out, 'rb') as f:
            return f.read()


def docx(macro=False):
    files = [('[Content_Types].xml', b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
              b'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'),
             ('_rels/.rels', b'<?xml version="1.0"?><Relationships/>'),
             ('word/document.xml', b'<?xml version="1.0"?><w:document><w:body><w:p>Quarterly report</w:p></w:body></w:document>')]
    if macro:
        files.append(('word/vbaProject.bin', b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1' + bytes(504)))
    return zip_of(files)


def head(msg, subject, sender='alice@example.org', to='bob@example.net'):
    msg['From'] = sender
    msg['To'] = to
    msg['Subject'] = subject
    msg['Date'] = 'Tue, 02 Jan 2024 10:00:00 +0000'
    msg['Message-ID'] = '<%s@example.org>' % abs(hash(subject))
    return msg


def with_attachment(subject, data, ctype, disposition, maintype='application', subtype='octet-stream',
                    text='Please see the attachment.\n'):
    """multipart/mixed: a text part and one base64 attachment whose headers are given as is."""
    msg = head(MIMEMultipart('mixed'), subject)
    msg.attach(MIMEText(text))
    part = MIMEBase(maintype, subtype)
    part.set_payload(base64.encodebytes(data).decode())
    part['Content-Transfer-Encoding'] = 'base64'
    if ctype is not None:
        del part['Content-Type']
        part['Content-Type'] = ctype
    if disposition is not None:
        part['Content-Disposition'] = disposition
    msg.attach(part)
    return msg


def attach(msg, data, filename, maintype, subtype):
    """An attachment the email package writes itself (it picks quoting and RFC 2231)."""
    part = MIMEBase(maintype, subtype)
    part.set_payload(data)
    from email import encoders
    encoders.encode_base64(part)
    part.add_header('Content-Disposition', 'attachment', filename=filename)
    msg.attach(part)
    return part


def plain_attach(subject, parts, text='Hello,\n\nplease find the files attached.\n\nRegards\n'):
    msg = head(MIMEMultipart('mixed'), subject)
    msg.attach(MIMEText(text))
    for data, filename, maintype, subtype in parts:
        attach(msg, data, filename, maintype, subtype)
    return msg


def messages():
    exe = pe_exe()
    m = {}

    # What the classic regex was written for.
    m['baseline-exe'] = with_attachment('invoice', exe, 'application/octet-stream; name="invoice.exe"',
                                        'attachment; filename="invoice.exe"')

    # The bypasses of issue 4, one each.
    m['bypass-rfc2231-pct'] = with_attachment(
        'invoice', exe, "application/octet-stream; name*=UTF-8''invoice%2Eexe",
        "attachment; filename*=UTF-8''invoice%2Eexe")
    m['bypass-rfc2231-cont'] = with_attachment(
        'invoice', exe, 'application/octet-stream; name*0="inv"; name*1="oice.exe"',
        'attachment; filename*0="inv"; filename*1="oice.exe"')
    m['bypass-rfc2047'] = with_attachment(
        'invoice', exe, 'application/octet-stream; name="=?UTF-8?B?aW52b2ljZS5leGU=?="',
        'attachment; filename="=?UTF-8?B?aW52b2ljZS5leGU=?="')
    m['bypass-unquoted'] = with_attachment('invoice', exe, 'application/octet-stream; name=invoice.exe',
                                           'attachment; filename=invoice.exe')
    m['bypass-trailing-dot'] = with_attachment('invoice', exe, 'application/octet-stream; name="invoice.exe."',
                                               'attachment; filename="invoice.exe."')
    m['bypass-spaces'] = with_attachment('invoice', exe, 'application/octet-stream; name="invoice.pdf  .exe  "',
                                         'attachment; filename="invoice.pdf  .exe  "')
    m['bypass-zip'] = plain_attach('documents', [(zip_of([('docs/invoice.exe', exe), ('readme.txt', b'hi\n')]),
                                                  'documents.zip', 'application', 'zip')])
    # A forwarded message: its attachment's headers are nested headers, which
    # Postfix checks with nested_header_checks, not mime_header_checks.
    inner = plain_attach('invoice', [(exe, 'invoice.exe', 'application', 'octet-stream')])
    fwd = head(MIMEMultipart('mixed'), 'Fwd: invoice')
    fwd.attach(MIMEText('Forwarding this.\n'))
    fwd.attach(MIMEMessage(inner))
    m['bypass-forwarded'] = fwd
    # The same forwarded message, base64-encoded: RFC 2046 forbids it, mail
    # clients decode it and show the message anyway.
    fwd64 = head(MIMEMultipart('mixed'), 'Fwd: invoice')
    fwd64.attach(MIMEText('Forwarding this.\n'))
    part = MIMEBase('message', 'rfc822')
    part.set_payload(base64.encodebytes(plain_attach('invoice', [(exe, 'invoice.exe', 'application',
                                                                   'octet-stream')]).as_bytes()).decode())
    part['Content-Transfer-Encoding'] = 'base64'
    fwd64.attach(part)
    m['bypass-forwarded-b64'] = fwd64
    m['bypass-renamed'] = with_attachment('scan', exe, 'application/pdf; name="scan.pdf"',
                                          'attachment; filename="scan.pdf"')

    # Ordinary mail.
    m['clean-text'] = head(MIMEText('Hi Bob,\n\nthe build of setup.exe failed again; please execute the '
                                    'tests with exe=1 and send the log.\nAlso, name="report.exe" in the '
                                    'config is wrong.\n'), 'build')
    m['clean-pdf'] = plain_attach('invoice', [(pdf('invoice'), 'invoice.pdf', 'application', 'pdf')])
    m['clean-pdf-2231'] = plain_attach('Rechnung', [(pdf('rechnung'), 'Rechnung März.pdf', 'application', 'pdf')])
    m['clean-pdf-2047'] = with_attachment('report', pdf(), 'application/pdf; name="=?UTF-8?Q?R=C3=A9sum=C3=A9.pdf?="',
                                          'attachment; filename="=?UTF-8?Q?R=C3=A9sum=C3=A9.pdf?="')
    m['clean-two-pdfs'] = plain_attach('contracts', [(pdf('a'), 'contract-v1.2.pdf', 'application', 'pdf'),
                                                     (pdf('b'), 'Mr. Smith.pdf', 'application', 'pdf')])
    m['clean-png'] = plain_attach('screenshot', [(png(), 'screenshot.png', 'image', 'png')])
    m['clean-jpeg'] = plain_attach('photo', [(jpeg(), 'IMG_2024.JPG', 'image', 'jpeg')])
    m['clean-gif'] = plain_attach('logo', [(gif(), 'logo.gif', 'image', 'gif')])
    html = head(MIMEMultipart('related'), 'newsletter')
    alt = MIMEMultipart('alternative')
    alt.attach(MIMEText('Newsletter\n'))
    alt.attach(MIMEText('<html><body><img src="cid:logo"></body></html>', 'html'))
    html.attach(alt)
    img = MIMEImage(png(), 'png')
    img.add_header('Content-ID', '<logo>')
    img.add_header('Content-Disposition', 'inline', filename='logo.png')
    html.attach(img)
    m['clean-html-inline'] = html
    ics = ('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n'
           'UID:1@example.org\r\nDTSTART:20240110T100000Z\r\nDTEND:20240110T110000Z\r\nSUMMARY:Review\r\n'
           'END:VEVENT\r\nEND:VCALENDAR\r\n')
    inv = head(MIMEMultipart('mixed'), 'Invitation: Review')
    alt = MIMEMultipart('alternative')
    alt.attach(MIMEText('You are invited.\n'))
    alt.attach(MIMEText(ics, 'calendar'))
    alt.get_payload()[1].set_param('method', 'REQUEST')
    inv.attach(alt)
    attach(inv, ics.encode(), 'invite.ics', 'application', 'ics')
    m['clean-invite'] = inv
    signed = head(MIMEMultipart('signed', protocol='application/pkcs7-signature', micalg='sha-256'), 'signed')
    signed.attach(MIMEText('This message is signed.\n'))
    sig = MIMEApplication(bytes([0x30, 0x82, 0x01, 0x00]) + bytes(256), 'pkcs7-signature', name='smime.p7s')
    sig.add_header('Content-Disposition', 'attachment', filename='smime.p7s')
    signed.attach(sig)
    m['clean-smime-signed'] = signed
    pgp = head(MIMEMultipart('signed', protocol='application/pgp-signature', micalg='pgp-sha256'), 'pgp')
    pgp.attach(MIMEText('Signed with PGP.\n'))
    pgp.attach(MIMEApplication(b'-----BEGIN PGP SIGNATURE-----\n\niQEz\n-----END PGP SIGNATURE-----\n',
                               'pgp-signature', name='signature.asc'))
    m['clean-pgp-signed'] = pgp
    m['clean-docx'] = plain_attach('report', [(docx(), 'Quarterly report.docx', 'application',
                                               'vnd.openxmlformats-officedocument.wordprocessingml.document')])
    m['clean-zip-pdfs'] = plain_attach('scans', [(zip_of([('scan1.pdf', pdf('1')), ('scan2.pdf', pdf('2'))]),
                                                  'scans.zip', 'application', 'zip')])
    m['clean-targz-logs'] = plain_attach('logs', [(tar_of([('logs/app.log', b'started\n' * 50),
                                                           ('logs/db.log', b'ok\n' * 50)], 'w:gz'),
                                                   'logs.tar.gz', 'application', 'gzip')])
    m['clean-csv'] = plain_attach('numbers', [(b'a,b\n1,2\n', 'numbers.csv', 'text', 'csv')])
    m['clean-vcard'] = plain_attach('contact', [(b'BEGIN:VCARD\nVERSION:3.0\nFN:Alice\nEND:VCARD\n',
                                                 'alice.vcf', 'text', 'vcard')])
    m['clean-txt'] = plain_attach('notes', [(b'exe files are not allowed here\n', 'notes.txt', 'text', 'plain')])
    fpdf = head(MIMEMultipart('mixed'), 'Fwd: invoice')
    fpdf.attach(MIMEText('Forwarding.\n'))
    fpdf.attach(MIMEMessage(plain_attach('invoice', [(pdf(), 'invoice.pdf', 'application', 'pdf')])))
    m['clean-forwarded-pdf'] = fpdf
    m['clean-big-pdf'] = plain_attach('manual', [(pdf('x' * 3000000), 'manual.pdf', 'application', 'pdf')])
    m['clean-alternative'] = head(MIMEMultipart('alternative', _subparts=[MIMEText('plain\n'),
                                                                         MIMEText('<b>html</b>', 'html')]), 'alt')
    m['clean-8bit-text'] = head(MIMEText('Grüße aus Köln, die Datei heißt bericht.exe.txt nicht.\n', 'plain', 'utf-8'),
                                'Grüße')
    m['clean-eml-attached'] = plain_attach('original', [(b'From: a@b\nSubject: x\n\nhello\n', 'original.eml',
                                                         'text', 'plain')])
    m['clean-audio'] = plain_attach('voicemail', [(b'RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00'
                                                   b'\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00',
                                                   'voicemail.wav', 'audio', 'wav')])

    # Archives.
    m['arch-tar-exe'] = plain_attach('tar', [(tar_of([('bin/run.scr', exe)]), 'stuff.tar', 'application', 'x-tar')])
    m['arch-gz-exe'] = plain_attach('gz', [(gzip.compress(exe, mtime=0), 'setup.exe.gz', 'application', 'gzip')])
    m['arch-rar-exe'] = plain_attach('rar', [(rar4_stored([('payload.exe', exe)]), 'files.rar', 'application',
                                              'vnd.rar')])
    m['arch-nested'] = plain_attach('nested', [(zip_of([('inner.zip', zip_of([('deep/evil.js', b'WScript.Echo(1)')]))]),
                                                'outer.zip', 'application', 'zip')])
    deep = zip_of([('x.vbs', b'MsgBox 1')])
    for i in range(5):
        deep = zip_of([('level%d.zip' % i, deep)])
    m['arch-too-deep'] = plain_attach('deep', [(deep, 'deep.zip', 'application', 'zip')])
    m['arch-disguised'] = plain_attach('notes', [(zip_of([('a.exe', exe)]), 'notes.txt', 'text', 'plain')])
    m['arch-docm'] = plain_attach('report', [(docx(macro=True), 'report.docx', 'application',
                                              'vnd.openxmlformats-officedocument.wordprocessingml.document')])
    s7 = seven_zip([('tools/run.bat', b'@echo off\r\n')])
    if s7 is not None:
        m['arch-7z-bat'] = plain_attach('7z', [(s7, 'tools.7z', 'application', 'x-7z-compressed')])
        m['arch-7z-encrypted'] = plain_attach('7z', [(seven_zip([('doc.pdf', pdf())], password='secret',
                                                                encrypt_headers=True),
                                                      'private.7z', 'application', 'x-7z-compressed')])
        m['arch-zip-encrypted'] = plain_attach('zip', [(seven_zip([('doc.pdf', pdf())], password='secret', fmt='zip'),
                                                        'private.zip', 'application', 'zip')])

    # Malformed MIME.
    bad = {}
    bad['bad-unterminated'] = (
        b'From: a@example.org\nTo: b@example.net\nSubject: x\nMIME-Version: 1.0\n'
        b'Content-Type: multipart/mixed; boundary="XX"\n\n--XX\nContent-Type: text/plain\n\nhello\n'
        b'--XX\nContent-Type: application/pdf; name="a.pdf"\nContent-Transfer-Encoding: base64\n\n'
        + base64.encodebytes(pdf()))
    msg = with_attachment('broken', pdf(), 'application/pdf; name="a.pdf"', 'attachment; filename="a.pdf"')
    raw = msg.as_bytes(policy=email_policy.compat32)
    bad['bad-base64'] = raw.replace(b'JVBERi0', b'JVB!!Ri0', 1)
    bad['bad-duplicate-cd'] = with_attachment('dup', exe, 'application/octet-stream',
                                              'attachment; filename="invoice.pdf"')
    bad['bad-duplicate-cd'].get_payload()[1]['Content-Disposition'] = 'attachment; filename="invoice.exe"'
    bad['bad-name-mismatch'] = with_attachment('mismatch', pdf(), 'application/pdf; name="invoice.exe"',
                                               'attachment; filename="invoice.pdf"')
    bad['bad-double-cte'] = with_attachment('cte', pdf(), 'application/pdf; name="a.pdf"',
                                            'attachment; filename="a.pdf"')
    bad['bad-double-cte'].get_payload()[1]['Content-Transfer-Encoding'] = '7bit'
    bad['bad-no-boundary'] = (b'From: a@example.org\nTo: b@example.net\nSubject: x\nMIME-Version: 1.0\n'
                              b'Content-Type: multipart/mixed\n\n--XX\nContent-Type: text/plain\n\nhello\n--XX--\n')
    bad['bad-unknown-cte'] = with_attachment('cte', pdf(), 'application/pdf; name="a.pdf"',
                                             'attachment; filename="a.pdf"')
    bad['bad-unknown-cte'].get_payload()[1].replace_header('Content-Transfer-Encoding', 'base-64')
    bad['bad-dup-param'] = with_attachment('param', exe, 'application/octet-stream',
                                           'attachment; filename="a.pdf"; filename="a.exe"')
    m.update(bad)
    return m


def write(msg, path):
    with open(path, 'wb') as f:
        if isinstance(msg, bytes):
            f.write(msg)
        else:
            BytesGenerator(f, policy=email_policy.compat32, mangle_from_=False, maxheaderlen=0).flatten(msg)


def big(path, nparts, megabytes):
    """One message of nparts base64 attachments, megabytes in all (the performance test)."""
    msg = head(MIMEMultipart('mixed'), 'big')
    msg.attach(MIMEText('Lots of files.\n'))
    size = megabytes * 1024 * 1024 * 3 // 4 // nparts
    for i in range(nparts):
        data = (pdf('%d' % i) + os.urandom(size))[:size] if i % 2 else os.urandom(size)
        name = 'file%03d.%s' % (i, 'pdf' if i % 2 else 'bin')
        attach(msg, data, name, 'application', 'pdf' if i % 2 else 'octet-stream')
    write(msg, path)


def bomb(path):
    """A zip of 13 MB holding 256 MB of zeros, 12 MB of noise and a zip of 64 MB of zeros."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('zeros.bin', b'\0' * (256 << 20))
        z.writestr('noise.bin', os.urandom(12 << 20))
        z.writestr('inner.zip', zip_of([('bomb.bin', b'\0' * (64 << 20))]))
    write(plain_attach('bomb', [(buf.getvalue(), 'bomb.zip', 'application', 'zip')]), path)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--bomb':
        bomb(os.path.join(sys.argv[2], 'bomb.eml'))
        return
    if len(sys.argv) == 5 and sys.argv[1] == '--big':
        big(os.path.join(sys.argv[2], 'big.eml'), int(sys.argv[3]), int(sys.argv[4]))
        return
    if len(sys.argv) != 2:
        sys.exit('usage: mkmsgs.py DIR | --big DIR NPARTS MEGABYTES | --bomb DIR')
    for name, msg in sorted(messages().items()):
        write(msg, os.path.join(sys.argv[1], name + '.eml'))


if __name__ == '__main__':
    main()
