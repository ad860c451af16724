#-------------------------------------------------------------------------
#
# Makefile for walbus.  It only delegates; each directory builds itself.
#
#   make / make all   proto/ (codec library), common/ (helpers shared by
#                     the rest), plugin/ (walbus.so, PGXS), client/
#                     (libwalbus), tools/ (walbus-dump, walbus-tap),
#                     examples/ (walbus-example-worker), relay/ (walbus-relay)
#   make install      walbus.so and the walbus extension into PostgreSQL;
#                     libwalbus and its header and walbus.pc, walbus-dump,
#                     walbus-tap, walbus-example-worker, walbus-relay under
#                     PREFIX, /usr/local by default (as root)
#   make deps         the Debian packages building and testing need (as
#                     root; idempotent; see tests/lib/deps.sh)
#   make demo         deps, build, install, then the whole pipeline on a
#                     throwaway cluster (demo/demo.sh); Ctrl-C stops it
#   make test         deps, build, install, then every test (tests/run); the
#                     last line is "N passed, N failed"
#   make compose-test the compose stack (docker-compose.yml) built and run
#                     with podman (tests/compose/run; as root; also part
#                     of make test)
#   make fuzz         the decoder under libFuzzer (proto/)
#   make format-check the C files' formatting against .clang-format
#                     (tools/format-check; tools/format-check --fix
#                     rewrites what differs; .ci/run counts it as a test)
#   make bench        decode speed, output size and walsender memory against
#                     PostgreSQL's own plugins; relay throughput and latency
#                     against pg_recvlogical + wal2json; backfills against
#                     COPY; the trigger source's write overhead and rate;
#                     the relay publishing to JetStream (one node, three)
#                     against its nng bus (bench/; never part of test)
#   make clean
#
#-------------------------------------------------------------------------

# in dependency order: each directory needs only those before it
SUBDIRS = proto common plugin client tools examples relay

all:
	$(MAKE) -C proto
	$(MAKE) -C common
	$(MAKE) -C plugin
	$(MAKE) -C client
	$(MAKE) -C tools
	$(MAKE) -C examples
	$(MAKE) -C relay

# proto/ and common/ are linked into the rest and install nothing
install: all
	$(MAKE) -C plugin install
	$(MAKE) -C client install
	$(MAKE) -C tools install
	$(MAKE) -C examples install
	$(MAKE) -C relay install
	ldconfig

deps:
	tests/lib/deps.sh

# A failed build still ends with the summary line, counted as one failure.
test:
	@tests/lib/deps.sh && $(MAKE) install || \
		{ echo "make test: dependencies, build or install failed"; \
		  echo "0 passed, 1 failed"; exit 1; }
	tests/run

demo:
	@tests/lib/deps.sh && $(MAKE) install
	demo/demo.sh

compose-test:
	tests/compose/run

fuzz:
	$(MAKE) -C proto fuzz

format-check:
	tools/format-check

bench: install
	bench/anchors.sh
	bench/memory.sh
	bench/relay.sh
	bench/bus_ceiling.sh
	bench/backfill.sh
	bench/trigger.sh
	bench/jetstream.sh

clean:
	for d in $(SUBDIRS); do $(MAKE) -C $$d clean || exit 1; done

.PHONY: all install deps demo test compose-test fuzz format-check bench clean
