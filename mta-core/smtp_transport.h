/*
 * smtp_transport.h - the queue manager's "relay" transport: targets in
 * other domains go out by SMTP (smtp_proto.c), several recipients of one
 * message and one next hop in one delivery process and one SMTP session.
 *
 * How it runs inside mta-core: the queue manager forks one delivery
 * process per job (qmgr_spawn.c), so the client may block (DNS, connect,
 * the server's replies), each wait bounded by its smtp_*_timeout, while
 * the daemon's libevent loop goes on serving SMTP sessions and other
 * deliveries.  The job carries every relay target of the message that
 * has the same next hop (relayhost, or the recipient's domain), up to
 * smtp_destination_recipient_limit.  Run as root, the delivery process
 * becomes mail_owner before it talks to the network.
 *
 * Trusts: the configuration, and the queue file the queue manager opened.
 */
#ifndef MAILSIFT_SMTP_TRANSPORT_H
#define MAILSIFT_SMTP_TRANSPORT_H

#include "libmatch/buf.h"
#include "mta-core/smtp_proto.h"

struct config;

int smtp_conf_init(struct smtp_conf *conf, struct config *cfg, struct buf *err);
void smtp_conf_free(struct smtp_conf *conf);

extern const struct qmgr_transport qmgr_transport_smtp;

#endif
