#-------------------------------------------------------------------------
#
# Makefile for walbus.  It only delegates; each directory builds itself.
#
#   make / make all   proto/ (codec library), plugin/ (walbus.so, PGXS),
#                     tools/ (walbus-dump)
#   make install      walbus.so into `pg_config --pkglibdir`, walbus-dump
#                     into /usr/local/bin (as root)
#   make deps         the Debian packages building and testing need (as
#                     root; idempotent; see tests/lib/deps.sh)
#   make test         deps, build, install, then every test (tests/run); the
#                     last line is "N passed, N failed"
#   make fuzz         the decoder under libFuzzer (proto/)
#   make bench        decode speed, output size and walsender memory against
#                     PostgreSQL's own plugins (bench/; never part of test)
#   make clean
#
#-------------------------------------------------------------------------

SUBDIRS = proto plugin tools

all:
	$(MAKE) -C proto
	$(MAKE) -C plugin
	$(MAKE) -C tools

install: all
	$(MAKE) -C plugin install
	$(MAKE) -C tools install

deps:
	tests/lib/deps.sh

# A failed build still ends with the summary line, counted as one failure.
test:
	@tests/lib/deps.sh && $(MAKE) install || \
		{ echo "make test: dependencies, build or install failed"; \
		  echo "0 passed, 1 failed"; exit 1; }
	tests/run

fuzz:
	$(MAKE) -C proto fuzz

bench: install
	bench/anchors.sh
	bench/memory.sh

clean:
	for d in $(SUBDIRS); do $(MAKE) -C $$d clean || exit 1; done

.PHONY: all install deps test fuzz bench clean
