/*
 * attach.h - milterd's attachment policy: load a policy file, judge a message.
 *
 * The policy file (attachment_policy(5), milterd.conf "attachment_policy =
 * FILE") is a list of rules, one per logical line: conditions on a file
 * (decoded name, extensions, declared and detected type, size, nesting in
 * message/rfc822, members of archives, malformed MIME) and an action with
 * optional text.  Every MIME part and every archive member is a "file";
 * for each file the first rule that matches decides; the message's verdict
 * is the strongest decision over all its files (REJECT > DISCARD > DEFER >
 * HOLD > WARN > ACCEPT), the first file in message order on a tie.
 *
 * A policy is immutable once loaded and may be used by several threads at
 * once (libmilter runs one thread per connection); a reload loads a new
 * one and swaps a pointer.  attach_judge() reads the message from a file
 * descriptor with bounded memory: MIME part contents are not copied into
 * memory (archives are listed from a temporary file, see TMPDIR).
 *
 * What it trusts: the policy file is the administrator's (errors are
 * reported, never fatal); the message is untrusted in every byte.
 */
#ifndef MAILSIFT_ATTACH_H
#define MAILSIFT_ATTACH_H

#include <stddef.h>

#include "libmatch/buf.h"

/* Actions, weakest first: the order is the order of strength. */
enum attach_action {
    ATTACH_NONE = 0, /* no rule matched anything: accept, nothing to log */
    ATTACH_ACCEPT,   /* a rule said this file is fine */
    ATTACH_WARN,     /* log, accept */
    ATTACH_HOLD,     /* quarantine (milter: smfi_quarantine) */
    ATTACH_DEFER,    /* 4xx: try again later */
    ATTACH_DISCARD,  /* accept and drop silently */
    ATTACH_REJECT,   /* 5xx */
};

/* One file a rule matched. */
struct attach_hit {
    enum attach_action action;
    struct buf text;   /* the rule's optional text, "" when it has none */
    struct buf rule;   /* "FILE:LINE" of the rule, FILE as given to attach_policy_load */
    struct buf part;   /* MIME part number, IMAP style: "2", "3.1"; "0" = the message's own header */
    struct buf name;   /* the part's decoded file name (UTF-8), "" when it has none */
    struct buf member; /* path inside the archive(s), "a.zip/b.exe"; "" for the part itself */
    struct buf detail; /* what made it match, for the log: "ext exe", "malformed base64" */
};

/* The judgement on one message. */
struct attach_verdict {
    enum attach_action action; /* the strongest decision, ATTACH_NONE when no rule matched */
    const struct attach_hit *hit; /* the hit that decided (into hits), NULL with ATTACH_NONE */
    struct attach_hit *hits;   /* every file a rule matched (WARNs too), in message order */
    size_t nhits;
    size_t parts;              /* MIME parts looked at */
    size_t members;            /* archive members looked at */
};

struct attach_policy;

/* attach_policy_load - read and check a policy file; NULL with "FILE, line N: reason" lines in err */
struct attach_policy *attach_policy_load(const char *path, struct buf *err);

/* attach_policy_free - release a policy (NULL is fine) */
void attach_policy_free(struct attach_policy *policy);

/* attach_policy_path - the file a policy was loaded from */
const char *attach_policy_path(const struct attach_policy *policy);

/* attach_verdict_init - an empty verdict; attach_verdict_free - release it (it may be reused after) */
void attach_verdict_init(struct attach_verdict *verdict);
void attach_verdict_free(struct attach_verdict *verdict);

/*
 * attach_judge - judge one message: fd holds the whole message as received
 * (headers and body, CRLF or LF line ends), read from offset 0 when it is
 * seekable (its offset is left anywhere), or to its end otherwise (a pipe
 * is copied to a temporary file first).  Returns 1 when a rule matched
 * (verdict filled in), 0 when none did (verdict->action == ATTACH_NONE),
 * -1 when the message could not be read or a temporary file could not be
 * written (err says why): treat that as a temporary failure.  Malformed
 * MIME is never an error here: it is a condition rules match.
 */
int attach_judge(const struct attach_policy *policy, int fd, struct attach_verdict *verdict,
                 struct buf *err);

/* attach_action_name - "REJECT", "HOLD", ... ("NONE" for ATTACH_NONE) */
const char *attach_action_name(enum attach_action action);

/*
 * attach_hit_format - the hit as milterd logs it and milterd -t prints it
 * after "attachment: ": part 2 "invoice.pdf.exe" rule attachment_policy:12,
 * with member "x/y.exe" after the name when it is inside an archive and the
 * detail in parentheses last; control characters, '"' and '\' in names
 * are escaped (\xNN, \", \\).  Appends to out.
 */
void attach_hit_format(const struct attach_hit *hit, struct buf *out);

#endif
