/*
 * engine_edit.c - turn the rules' decisions into edits a milter can ask of
 * the MTA, with the indexes Sendmail's and Postfix's milter code expect.
 *
 * Header edits are made bottom-up (last header first): an insertion or a
 * deletion then never moves a header that a later edit still has to find,
 * whatever the MTA does with deleted headers in its counting.
 *
 *   IGNORE/STRIP  chgheader(name, n, NULL): delete the n-th header of that name
 *   PREPEND       insheader(pos + header_insert_offset, new): insert before it
 *   REPLACE       chgheader(name, n, value) when the name stays (case aside);
 *                 else insheader before it, then delete it
 *
 * pos counts the headers the MTA showed, from 0; header_insert_offset (1)
 * is for the MTA's own Received: header, which Postfix and Sendmail hide
 * from milters but count when inserting (see milterd(8)).
 *
 * REDIRECT removes every envelope recipient (as the MTA named them) and
 * adds the target; BCC adds recipients (not needed after a REDIRECT, which
 * would send them to the target too).
 */
#include <string.h>
#include <strings.h>

#include "libmatch/header.h"
#include "libmatch/mem.h"
#include "milterd/engine_int.h"

/* engine_add_edit - append an edit for the MTA */
void engine_add_edit(struct engine *engine, enum engine_edit_type type, size_t index,
                     const char *name, const char *value)
{
    struct engine_result *r = &engine->result;
    struct engine_edit *e;

    r->edits = mem_realloc_array(r->edits, r->nedits + 1, sizeof(*r->edits));
    e = &r->edits[r->nedits++];
    e->type = type;
    e->index = index;
    e->name = mem_strdup(name);
    e->value = value ? mem_strdup(value) : NULL;
}

/* engine_split_header - "Name: value" into name and value (value keeps its leading space) */
static void engine_split_header(const char *text, struct buf *name, const char **value)
{
    size_t label = header_label_len(text, strlen(text));
    const char *colon = strchr(text + label, ':');

    buf_set(name, text, label);
    *value = colon ? colon + 1 : text + label;
}

/* engine_build_edits - the edits for an accepted or held message */
void engine_build_edits(struct engine *engine)
{
    size_t offset = (size_t) engine->policy->header_insert_offset, i;
    struct buf name = BUF_INIT;
    const char *value;

    for (i = engine->nhedits; i-- > 0;) {
        const struct engine_hedit *e = &engine->hedits[i];

        switch (e->outcome) {
        case ENGINE_DROP:
            engine_add_edit(engine, ENGINE_CHGHEADER, e->occ, e->name, NULL);
            break;
        case ENGINE_PREPEND:
            engine_split_header(e->text, &name, &value);
            engine_add_edit(engine, ENGINE_INSHEADER, e->pos + offset, name.data, value);
            break;
        case ENGINE_REPLACE:
            engine_split_header(e->text, &name, &value);
            if (strcasecmp(name.data, e->name) == 0) {
                engine_add_edit(engine, ENGINE_CHGHEADER, e->occ, name.data, value);
            } else {
                engine_add_edit(engine, ENGINE_INSHEADER, e->pos + offset, name.data, value);
                engine_add_edit(engine, ENGINE_CHGHEADER, e->occ, e->name, NULL);
            }
            break;
        case ENGINE_KEEP:
            break;
        }
    }
    buf_free(&name);

    if (engine->redirect.len) {
        for (i = 0; i < engine->nrcpts; i++)
            engine_add_edit(engine, ENGINE_DELRCPT, 0, engine->rcpts[i], NULL);
        engine_add_edit(engine, ENGINE_ADDRCPT, 0, engine->redirect.data, NULL);
    } else {
        for (i = 0; i < engine->nbcc; i++)
            engine_add_edit(engine, ENGINE_ADDRCPT, 0, engine->bcc[i], NULL);
    }
}
