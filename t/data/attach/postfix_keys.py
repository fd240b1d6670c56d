#!/usr/bin/env python3
"""postfix_keys.py - the strings Postfix would hand its pcre checks for one message.

    postfix_keys.py body MESSAGE          every line of the message: body_checks as Postfix
                                          applies it with disable_mime_input_processing = yes
                                          (and the top headers too, to be generous)
    postfix_keys.py mime-headers MESSAGE  every header of the message and of its MIME parts,
                                          unfolded, but not the headers of a message/rfc822
                                          part's contents: with Postfix's default MIME
                                          processing those go to nested_header_checks, not
                                          to mime_header_checks

One key per line, for "postmap -q - pcre:TABLE".
"""
import email
import re
import sys
from email import policy


def outer_parts(part):
    yield part
    if part.get_content_maintype() == 'multipart' and part.is_multipart():
        for sub in part.get_payload():
            yield from outer_parts(sub)


def main():
    mode, path = sys.argv[1], sys.argv[2]
    with open(path, 'rb') as f:
        raw = f.read()
    if mode == 'body':
        for line in raw.split(b'\n'):
            sys.stdout.buffer.write(line.rstrip(b'\r') + b'\n')
        return
    msg = email.message_from_bytes(raw, policy=policy.compat32)
    for part in outer_parts(msg):
        for name, value in part._headers:
            key = '%s: %s' % (name, re.sub(r'\r?\n', '', str(value)))
            sys.stdout.write(key + '\n')


if __name__ == '__main__':
    main()
