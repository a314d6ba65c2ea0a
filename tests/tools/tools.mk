# Test tools built with the daemon (included from the Makefile).
# build/flood: bounded UDP flooder for tests/integration/test_adversarial.py.
all: $(B)/flood

$(B)/flood: tests/tools/flood.c | $(B)
	$(CC) $(CFLAGS) -o $@ $<
