/*
 * engine_int.h - the engine's private state, shared by engine.c (message
 * flow), engine_act.c (actions and their log lines) and engine_edit.c
 * (turning decisions into the MTA's edits).  Nothing outside these files
 * includes it.
 */
#ifndef MAILSIFT_MILTERD_ENGINE_INT_H
#define MAILSIFT_MILTERD_ENGINE_INT_H

#include "libmatch/mime_state.h"
#include "libmatch/table.h"
#include "milterd/engine.h"

/* What a check does to the header or line it looked at. */
enum engine_outcome {
    ENGINE_KEEP,    /* output unchanged */
    ENGINE_DROP,    /* IGNORE, STRIP */
    ENGINE_REPLACE, /* output the new text instead */
    ENGINE_PREPEND, /* output the new text, then the original */
};

/* An edit of a primary header, in message order. */
struct engine_hedit {
    size_t pos;  /* among the headers the MTA showed, from 0 */
    size_t occ;  /* among those of the same name, from 1 */
    char *name;  /* as the MTA gave it */
    enum engine_outcome outcome;
    char *text;  /* the new header line (REPLACE, PREPEND) */
};

struct engine_name {
    char *lname; /* lower case; NULL: free slot */
    size_t count;
};

struct engine {
    struct policy *policy;
    struct mime_state *ms;
    struct buf queue_id;
    struct buf client;
    struct buf sender;
    char **rcpts;
    size_t nrcpts;
    size_t rcpts_alloc;

    /* Primary headers as the MTA showed them. */
    size_t hdr_seen;        /* shown so far */
    size_t cur_pos;         /* the one mime_state will report next */
    size_t cur_occ;
    struct buf cur_name;
    struct engine_name *names; /* open addressing, names_cap a power of two */
    size_t names_cap;
    size_t names_count;
    struct engine_hedit *hedits;
    size_t nhedits;
    size_t hedits_alloc;

    /* Where the message is. */
    int eoh_done;
    int first_body;         /* the next body record is the header/body separator */
    int eom_done;
    enum engine_verdict final; /* REJECT, DEFER or DISCARD once decided */

    /* What the rules said. */
    int filter;             /* checks still on (off after REJECT, DISCARD, REDIRECT, PASS) */
    int hold;
    int discard;
    int pass;
    int lookup_error;
    struct buf redirect;
    char **bcc;
    size_t nbcc;
    size_t edits_dropped;

    /* Output. */
    struct spool *body_out; /* the body as it will be, when rules may edit it */
    int body_edited;
    struct spool *message;  /* the whole message, for the attachment policy */
    struct buf line;        /* scratch */
    struct buf key;         /* scratch: a lookup key */
    struct buf err;         /* scratch */
    struct engine_result result;
};

enum engine_outcome engine_check(struct engine *engine, int class, const char *context,
                                 const char *text, size_t len, struct buf *new_text);
void engine_log(struct engine *engine, const char *what, const char *context, const char *text,
                size_t len, const char *where, const char *table, const char *detail);
void engine_set_final(struct engine *engine, enum engine_verdict verdict);
void engine_build_edits(struct engine *engine);
void engine_add_edit(struct engine *engine, enum engine_edit_type type, size_t index,
                     const char *name, const char *value);

#endif
