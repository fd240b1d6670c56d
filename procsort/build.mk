# procsort/build.mk - procsort, the procmail 3.22 drop-in delivery agent.
#
# Everything but main() goes into procsort/libprocsort.a so that the C unit
# tests link the same code; folder*.c and lock*.c (delivery to folders) are
# picked up by the same wildcard.
PROCSORT_OBJS := $(filter-out procsort/procsort.o,$(patsubst %.c,%.o,$(wildcard procsort/*.c)))
procsort/libprocsort.a: $(PROCSORT_OBJS)
ARCHIVES := procsort/libprocsort.a $(ARCHIVES)
BIN_PROGRAMS += procsort/procsort
procsort/procsort: procsort/procsort.o procsort/libprocsort.a libmatch/libmatch.a
MAN_PAGES += man/procsort.1 man/procsortrc.5
