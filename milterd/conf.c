/*
 * conf.c - read milterd.conf and the -o overrides.
 *
 * Every parameter milterd knows is listed here with its default; a name
 * not listed is an error naming its line (a typo must not silently keep a
 * default).  config_directory defaults to the directory of the
 * configuration file, so that "header_checks = pcre:$config_directory/hc"
 * works wherever the file lives.  A missing default configuration file is
 * not an error (everything can come from -o); a missing -c file is.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "libmatch/mem.h"
#include "milterd/conf.h"

static const struct config_param conf_params_template[] = {
    {"config_directory", NULL}, /* filled in: the configuration file's directory */
    {"socket", "unix:/run/milterd/milterd.sock"},
    {"socket_mode", "0660"},
    {"socket_group", ""},
    {"user", ""},
    {"listen_backlog", "100"},
    {"milter_timeout", "7210s"},
    {"header_checks", ""},
    {"mime_header_checks", "$header_checks"},
    {"nested_header_checks", "$header_checks"},
    {"body_checks", ""},
    {"attachment_policy", ""},
    {"line_length_limit", "2048"},
    {"header_size_limit", "102400"},
    {"body_checks_size_limit", "51200"},
    {"mime_nesting_limit", "100"},
    {"mime_boundary_length_limit", "2048"},
    {"disable_mime_input_processing", "no"},
    {"strict_7bit_headers", "no"},
    {"strict_8bitmime", "no"},
    {"strict_8bitmime_body", "no"},
    {"strict_mime_encoding_domain", "no"},
    {"header_insert_offset", "1"},
    {"temp_directory", "/tmp"},
    {"spool_memory_limit", "65536"},
    {"syslog_name", "milterd"},
    {"syslog_facility", "mail"},
    {NULL, NULL},
};

/* The parameter table lives as long as the configuration that uses it. */
static struct config_param *conf_params;
static char *conf_dir;

static void conf_make_params(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = sizeof(conf_params_template) / sizeof(conf_params_template[0]);

    /* Reloads reuse the table: the path does not change. */
    if (conf_params != NULL)
        return;
    conf_dir = slash == NULL ? mem_strdup(".") : slash == path ? mem_strdup("/")
                                                               : mem_strndup(path, (size_t) (slash - path));
    conf_params = mem_array(n, sizeof(*conf_params));
    memcpy(conf_params, conf_params_template, sizeof(conf_params_template));
    conf_params[0].defval = conf_dir;
}

/*
 * conf_load - the configuration file, then the overrides, checked.  NULL
 * with every problem in err when anything is wrong.
 */
struct config *conf_load(const struct conf_source *src, struct buf *err)
{
    struct config *cfg;
    int i, status = 0;

    conf_make_params(src->path);
    cfg = config_new(conf_params);
    if (src->path_given || access(src->path, F_OK) == 0) {
        if (config_load(cfg, src->path, err) < 0)
            status = -1;
    }
    for (i = 0; i < src->noverrides; i++) {
        if (config_set(cfg, src->overrides[i], err) < 0) {
            status = -1;
            buf_addch(err, '\n');
        }
    }
    if (status == 0 && config_check(cfg, err) < 0)
        status = -1;
    if (status < 0) {
        if (err->len && err->data[err->len - 1] == '\n')
            buf_truncate(err, err->len - 1);
        config_free(cfg);
        return NULL;
    }
    return cfg;
}
