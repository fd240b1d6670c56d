# fuzz/build.mk - libFuzzer targets for every parser of untrusted input: make fuzz
#
# Convention (add a target without touching anything else):
#   fuzz/fuzz-NAME.c       defines LLVMFuzzerTestOneInput (and may define
#                          LLVMFuzzerInitialize); built to fuzz/fuzz-NAME
#   fuzz/corpus/NAME/      its seed corpus, one input per file (committed)
#   FUZZ_SRCS_fuzz-NAME    sources beyond libmatch that it needs, set below
#                          (e.g. FUZZ_SRCS_fuzz-rc := procsort/rc_lex.c
#                          procsort/rc_parse.c); every libmatch/*.c is always in
#
# Everything a target links is compiled again here with clang, coverage
# instrumentation, ASan and UBSan, into fuzz/obj/ (the normal build's
# objects are gcc's and stay as they are).  "make" and "make check-build"
# never need clang; "make fuzz" does (contrib/deps.sh installs clang and
# libclang-rt-14-dev).  t/023-fuzz.t builds the targets and runs each one
# for a few seconds on its corpus; for a real campaign:
#   fuzz/fuzz-NAME -max_len=4096 -timeout=5 fuzz/corpus/NAME
# (new inputs land in the first directory; copy it first to keep the
# committed corpus small).  A crash leaves crash-* in the current
# directory: reproduce with "fuzz/fuzz-NAME crash-...".

FUZZ_CC ?= clang
FUZZ_SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=gnu11 $(WARNFLAGS) -D_GNU_SOURCE -pthread -I. -g -O1 \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null) $(FUZZ_SANFLAGS) -fsanitize=fuzzer-no-link

# Sources a target needs beyond libmatch (see the convention above).
FUZZ_SRCS_fuzz-table :=
FUZZ_SRCS_fuzz-procmailrc := procsort/rc.c procsort/rcx.c
FUZZ_SRCS_fuzz-attach := milterd/attach_archive.c milterd/attach_file.c \
	milterd/attach_judge.c milterd/attach_magic.c milterd/attach_policy.c
FUZZ_SRCS_fuzz-mime-state :=
FUZZ_SRCS_fuzz-milterd-engine := milterd/action.c milterd/engine.c milterd/engine_act.c \
	milterd/engine_edit.c milterd/engine_attach.c milterd/spool.c milterd/policy.c \
	$(FUZZ_SRCS_fuzz-attach)
FUZZ_SRCS_fuzz-milter-reply := mta-core/milter_proto.c mta-core/milter_msg.c mta-core/smtpd_msg.c
FUZZ_SRCS_fuzz-smtpd := mta-core/smtpd_content.c mta-core/smtpd_parse.c
FUZZ_SRCS_fuzz-smtp-reply := mta-core/smtp_reply.c mta-core/smtp_mime.c mta-core/masq_addr.c
FUZZ_SRCS_fuzz-queue-file := mta-core/queue_read.c mta-core/queue_rec.c

FUZZ_TARGETS := $(patsubst %.c,%,$(wildcard fuzz/fuzz-*.c))
FUZZ_LIB_OBJS := $(patsubst %.c,fuzz/obj/%.o,$(wildcard libmatch/*.c))
FUZZ_ALL_OBJS = $(FUZZ_LIB_OBJS) $(patsubst %,fuzz/obj/%.o,$(FUZZ_TARGETS)) \
	$(patsubst %.c,fuzz/obj/%.o,$(foreach t,$(FUZZ_TARGETS),$(FUZZ_SRCS_$(notdir $(t)))))

.PHONY: fuzz fuzz-check-clang

fuzz: fuzz-check-clang $(FUZZ_TARGETS)

fuzz-check-clang:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { \
		echo "make fuzz: $(FUZZ_CC) not found: install clang and libclang-rt-14-dev (make deps)" >&2; exit 1; }

fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

define FUZZ_LINK_RULE
$(1): fuzz/obj/$(1).o $(FUZZ_LIB_OBJS) $(patsubst %.c,fuzz/obj/%.o,$(FUZZ_SRCS_$(notdir $(1))))
	$$(FUZZ_CC) $$(FUZZ_SANFLAGS) -fsanitize=fuzzer -pthread -o $$@ $$^ $$(LDLIBS_ALL)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_LINK_RULE,$(t))))

-include $(wildcard fuzz/obj/*/*.d fuzz/obj/*/*/*.d)

CLEAN_FILES += $(FUZZ_TARGETS) $(wildcard fuzz/obj/*/*.o fuzz/obj/*/*.d fuzz/obj/*/*/*.o fuzz/obj/*/*/*.d)
