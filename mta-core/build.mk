# mta-core/build.mk - the MTA: mta-core (sbin), its archive and man pages.
#
# Every mta-core/*.c that is not a program's main() goes into
# mta-core/libmtacore.a, so that C unit tests link the modules they test.
# A new program adds its main object to MTA_CORE_MAINS and a rule below.
MTA_CORE_MAINS := mta-core/mta-core.o mta-core/mtaq.o mta-core/sendmail.o
MTA_CORE_OBJS := $(filter-out $(MTA_CORE_MAINS),$(patsubst %.c,%.o,$(wildcard mta-core/*.c)))

mta-core/libmtacore.a: $(MTA_CORE_OBJS)
ARCHIVES := mta-core/libmtacore.a $(ARCHIVES)

SBIN_PROGRAMS += mta-core/mta-core
mta-core/mta-core: mta-core/mta-core.o mta-core/libmtacore.a libmatch/libmatch.a

MAN_PAGES += man/mta-core.8 man/mta-core.conf.5

# STARTTLS runs on libevent's OpenSSL bufferevents; --as-needed keeps the
# library out of the programs that do not use it.
LDLIBS_ALL += $(shell $(PKG_CONFIG) --libs libevent_openssl 2>/dev/null)

# mtaq(8), the queue tool (queue_admin.c does the work).
SBIN_PROGRAMS += mta-core/mtaq
mta-core/mtaq: mta-core/mtaq.o mta-core/libmtacore.a libmatch/libmatch.a
MAN_PAGES += man/mtaq.8

# The SMTP client asks DNS through libresolv (res_nquery, ns_parserr).
LDLIBS_ALL += -lresolv

# mta-sendmail(8), the sendmail-compatible submission command (maildrop_*.c).
SBIN_PROGRAMS += mta-core/mta-sendmail
mta-core/mta-sendmail: mta-core/sendmail.o mta-core/libmtacore.a libmatch/libmatch.a
MAN_PAGES += man/mta-sendmail.8
