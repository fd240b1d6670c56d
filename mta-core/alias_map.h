/*
 * alias_map.h - alias_maps and virtual_alias_maps: text files read and
 * indexed in memory (no newaliases, no postmap), reloaded when they change.
 *
 * A map is a Postfix-style list of specs, searched in order; the first
 * source with an answer wins.  "regexp:/path" and "pcre:/path" go to
 * libmatch's tables (queried with the full address only, as Postfix does);
 * every other spec ("hash:/etc/aliases", "texthash:/x", "lmdb:/x", or a
 * bare "/x") names a text file in the map's format, read as is: for
 * hash:/etc/aliases that is /etc/aliases itself, not the .db file.
 */
#ifndef MAILSIFT_ALIAS_MAP_H
#define MAILSIFT_ALIAS_MAP_H

#include <sys/types.h>

#include "libmatch/buf.h"

#define ALIAS_FORMAT_ALIASES 1 /* "name: value, value" (aliases(5)) */
#define ALIAS_FORMAT_VIRTUAL 2 /* "key value, value" (virtual(5)) */

#define ALIAS_MAP_FULL 0    /* a full-address query: every source answers */
#define ALIAS_MAP_PARTIAL 1 /* "user" or "@domain": regexp/pcre sources do not */

struct alias_map;

/* What a lookup found: valid until the next lookup or refresh. */
struct alias_hit {
    const char *value; /* the right-hand side, as written */
    const char *file;  /* where it came from */
    int line;
    uid_t owner;       /* owner of that file (privileges for |command and /file) */
    gid_t owner_gid;
};

struct alias_map *alias_map_open(const char *specs, int format, struct buf *err);
int alias_map_refresh(struct alias_map *map, int force, struct buf *err);
int alias_map_lookup(struct alias_map *map, const char *key, int flags, struct alias_hit *hit,
                     struct buf *err);
void alias_map_free(struct alias_map *map);

#endif
