# milterd/build.mk - the milter daemon, sbin/milterd (section 8).
#
# Every milterd/*.c but the program's main goes into milterd/libmilterd.a,
# which C unit tests link (the attachment policy, attach_*.c, is tested
# that way through t/lib/attach-judge).
MILTERD_OBJS := $(patsubst %.c,%.o,$(filter-out milterd/milterd.c,$(wildcard milterd/*.c)))
milterd/libmilterd.a: $(MILTERD_OBJS)
ARCHIVES := milterd/libmilterd.a $(ARCHIVES)
SBIN_PROGRAMS += milterd/milterd
milterd/milterd: milterd/milterd.o milterd/libmilterd.a libmatch/libmatch.a
MAN_PAGES += man/attachment_policy.5 man/milterd.8 man/milterd.conf.5
