/*
 * local_command.h - delivery to a command (internal to local_*.c).
 */
#ifndef MAILSIFT_LOCAL_COMMAND_H
#define MAILSIFT_LOCAL_COMMAND_H

#include "mta-core/local_deliver.h"

void local_command_run(const struct local_conf *lc, const struct local_request *req, const char *command,
                       char *const *env, const char *cwd, const char *delivered, struct local_result *res);

#endif
