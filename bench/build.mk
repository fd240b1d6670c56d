# bench/build.mk - "make bench": mailsift measured against its peers
# (procmail 3.22, Postfix's native checks, Postfix as an MTA) by
# bench/run.sh, which prints each figure, the peer's and their ratio,
# measured in the same run.  BENCH="procsort milterd mta callgrind" picks
# benchmarks (default: all); BENCH_QUICK=1 makes every one tiny (for the
# test that the scripts work, t/800-bench.t); BENCH_REPEAT=N repeats.
BENCH_TOOLS := bench/benchloop

bench/benchloop: bench/benchloop.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^

# The tests run the scripts in quick mode, so they need the tools too.
check-build: $(BENCH_TOOLS)
CLEAN_FILES += $(BENCH_TOOLS)

.PHONY: bench
bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_TOOLS) t/lib/procdiff-reap t/lib/tablequery
	@sh bench/run.sh $(BENCH)
