/*
 * local_mbox.h - mbox and Maildir writers of local delivery (internal to local_*.c).
 */
#ifndef MAILSIFT_LOCAL_MBOX_H
#define MAILSIFT_LOCAL_MBOX_H

#include "mta-core/local_deliver.h"

void local_mbox_append(const struct local_request *req, const char *path, const char *delivered,
                       const char *what, struct local_result *res);
void local_maildir_deliver(const struct local_request *req, const char *dir, const char *delivered,
                           const char *what, struct local_result *res);

#endif
