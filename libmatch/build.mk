# libmatch/build.mk - the shared core, libmatch/libmatch.a.
LIBMATCH_OBJS := $(patsubst %.c,%.o,$(wildcard libmatch/*.c))
libmatch/libmatch.a: $(LIBMATCH_OBJS)
