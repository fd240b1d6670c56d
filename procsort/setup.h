/*
 * setup.h - what procsort does before the first rc file, as procmail:
 * the identity it runs as (-d as root: the recipient's), the environment
 * (cleaned unless -p, then procmail's presets), standard output moved
 * aside, the umask.
 */
#ifndef PROCSORT_SETUP_H
#define PROCSORT_SETUP_H

#include <sys/types.h>

#define SETUP_MAILSPOOL "/var/mail" /* the system mailbox is SETUP_MAILSPOOL/$LOGNAME */

struct setup_user {
    char *name;
    char *home;
    char *shell;
    uid_t uid;
    gid_t gid;
};

int setup_find_user(const char *name, uid_t uid, struct setup_user *user);
int setup_become(const struct setup_user *user, gid_t sgid);
void setup_drop_saved_group(void);
void setup_environment(const struct setup_user *user, int preserve, int presets);
int setup_stdout(void);
void setup_user_free(struct setup_user *user);

#endif
