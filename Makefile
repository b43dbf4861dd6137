# presage - build, test, bench and install.
#
# Layout: bpf/*.bpf.c -> build/bpf/*.bpf.o -> build/skel/*.skel.h (embedded in
# the binaries); user/<subsystem>/*.c -> build/libpresage.a; user/daemon/*.c
# -> build/presaged; tools/*.c -> build/presage.  A second copy of the library
# is built with ASan+UBSan (and libFuzzer coverage) under build/asan/ for the
# unit tests and fuzz targets.  Adding a source file needs no edit here.

PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
SYSCONFDIR  ?= /etc
MANDIR      ?= $(PREFIX)/share/man
DATADIR     ?= $(PREFIX)/share
UNITDIR     ?= /lib/systemd/system

VERSION     := $(shell cat VERSION 2>/dev/null || echo 0.1.0)
CC          := clang
BPF_CLANG   := clang
BPFTOOL     ?= bpftool
ARCH        := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/')
B           ?= build

PKGS        := libbpf libcurl libcjson libmicrohttpd
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lbpf -lcurl -lcjson -lmicrohttpd)
LDLIBS      := $(PKG_LIBS) -lelf -lz -lpthread -lm

WARN        := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
	       -Wno-missing-field-initializers
CPPFLAGS    := -D_GNU_SOURCE -DPRESAGE_VERSION='"$(VERSION)"' -Iinclude -Iuser -I$(B)/skel \
	       $(PKG_CFLAGS)
CFLAGS      ?= -O2 -gdwarf-4 # DWARF 4: valgrind 3.19 cannot read clang 14's DWARF 5
CFLAGS      += -std=gnu11 $(WARN) -fno-strict-aliasing -MMD -MP
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	       -fno-omit-frame-pointer
FUZZ_COV    := -fsanitize=fuzzer-no-link

BPF_SRCS    := $(wildcard bpf/*.bpf.c)
BPF_OBJS    := $(BPF_SRCS:bpf/%.bpf.c=$(B)/bpf/%.bpf.o)
SKELS       := $(BPF_SRCS:bpf/%.bpf.c=$(B)/skel/%.skel.h)
BPF_CFLAGS  := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux/$(ARCH) -Iinclude -Ibpf \
	       -Wall -Werror -Wno-unused-function -Wno-compare-distinct-pointer-types

LIB_SRCS    := $(shell find user -name '*.c' -not -path 'user/daemon/*' | sort)
DAEMON_SRCS := $(wildcard user/daemon/*.c)
CLI_SRCS    := $(wildcard tools/*.c)
LIB_OBJS    := $(LIB_SRCS:%.c=$(B)/obj/%.o)
ASAN_OBJS   := $(LIB_SRCS:%.c=$(B)/asan/obj/%.o)
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(B)/obj/%.o)
CLI_OBJS    := $(CLI_SRCS:%.c=$(B)/obj/%.o)

UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%)
UNIT_ASAN   := $(UNIT_SRCS:tests/unit/%.c=$(B)/asan/tests/unit/%)
BPFT_SRCS   := $(wildcard tests/bpf/test_*.c)
BPFT_BINS   := $(BPFT_SRCS:tests/bpf/%.c=$(B)/tests/bpf/%)
INTT_SRCS   := $(shell find tests/integration -name 'test_*.c' 2>/dev/null)
INTT_BINS   := $(foreach f,$(INTT_SRCS),$(B)/tests/integration/$(basename $(notdir $(f))))
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(B)/tests/helpers/%)
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS   := $(FUZZ_SRCS:tests/fuzz/%.c=$(B)/fuzz/%)
BENCH_SRCS  := $(wildcard bench/*.c)
BENCH_BINS  := $(BENCH_SRCS:bench/%.c=$(B)/bench/%)

.PHONY: all deps run test test-unit bench install uninstall format lint clean fuzz demo
.DELETE_ON_ERROR:

all: $(B)/presaged $(B)/presage

deps:
	@sh tools/scripts/deps.sh

# ---- BPF -------------------------------------------------------------------
$(B)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.bpf.h) $(wildcard include/presage/*.h) | $(B)/bpf
	$(BPF_CLANG) $(BPF_CFLAGS) -c $< -o $@

$(B)/skel/%.skel.h: $(B)/bpf/%.bpf.o | $(B)/skel
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(B)/bpf $(B)/skel:
	@mkdir -p $@

# ---- user space ------------------------------------------------------------
$(B)/obj/%.o: %.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/asan/obj/%.o: %.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -O1 $(SAN_FLAGS) $(FUZZ_COV) -c $< -o $@

$(B)/libpresage.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/asan/libpresage.a: $(ASAN_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/presaged: $(DAEMON_OBJS) $(B)/libpresage.a
	$(CC) $(CFLAGS) -o $@ $(DAEMON_OBJS) $(B)/libpresage.a $(LDLIBS)

$(B)/presage: $(CLI_OBJS) $(B)/libpresage.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJS) $(B)/libpresage.a $(LDLIBS)

# ---- tests -----------------------------------------------------------------
TEST_LIBS := $(LDLIBS) -lcmocka

$(B)/tests/unit/%: tests/unit/%.c $(B)/libpresage.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -o $@ $< $(B)/libpresage.a $(TEST_LIBS)

$(B)/asan/tests/unit/%: tests/unit/%.c $(B)/asan/libpresage.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -O1 $(SAN_FLAGS) -o $@ $< $(B)/asan/libpresage.a $(TEST_LIBS)

$(B)/tests/bpf/%: tests/bpf/%.c $(B)/libpresage.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -o $@ $< $(B)/libpresage.a $(TEST_LIBS)

# Integration test programs may sit in subfolders; their binaries do not.
define INTT_RULE
$(B)/tests/integration/$(basename $(notdir $(1))): $(1) $(B)/libpresage.a
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) -Itests $$(CFLAGS) -o $$@ $$< $(B)/libpresage.a $$(TEST_LIBS)
endef
$(foreach f,$(INTT_SRCS),$(eval $(call INTT_RULE,$(f))))

$(B)/tests/helpers/%: tests/helpers/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< -lpthread -lm

$(B)/fuzz/%: tests/fuzz/%.c $(B)/asan/libpresage.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -O1 $(SAN_FLAGS) -fsanitize=fuzzer -o $@ $< \
		$(B)/asan/libpresage.a $(LDLIBS)

$(B)/bench/%: bench/%.c $(B)/libpresage.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(B)/libpresage.a $(LDLIBS)

TEST_BINS := $(UNIT_BINS) $(UNIT_ASAN) $(BPFT_BINS) $(INTT_BINS) $(HELPER_BINS) $(FUZZ_BINS) \
	     $(BENCH_BINS)

test: all $(TEST_BINS)
	@bash tests/run

test-unit: $(UNIT_BINS) $(UNIT_ASAN)
	@bash tests/run unit

fuzz: $(FUZZ_BINS)

bench: all $(BENCH_BINS) $(HELPER_BINS)
	@bash bench/run

run: deps all
	./$(B)/presaged $(ARGS)

demo: all $(HELPER_BINS)
	@bash tools/scripts/demo.sh

# ---- install ---------------------------------------------------------------
install: all
	install -D -m 0755 $(B)/presaged $(DESTDIR)$(SBINDIR)/presaged
	install -D -m 0755 $(B)/presage $(DESTDIR)$(BINDIR)/presage
	install -D -m 0644 config/presage.json $(DESTDIR)$(SYSCONFDIR)/presage/presage.json
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g' config/presaged.service > $(DESTDIR)$(UNITDIR)/presaged.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/presaged.service
	install -D -m 0644 docs/presage.1 $(DESTDIR)$(MANDIR)/man1/presage.1
	install -D -m 0644 docs/presaged.8 $(DESTDIR)$(MANDIR)/man8/presaged.8
	install -D -m 0644 config/presage.bash-completion \
		$(DESTDIR)$(DATADIR)/bash-completion/completions/presage
	install -D -m 0644 config/grafana-dashboard.json \
		$(DESTDIR)$(DATADIR)/presage/grafana-dashboard.json

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/presaged $(DESTDIR)$(BINDIR)/presage \
		$(DESTDIR)$(UNITDIR)/presaged.service $(DESTDIR)$(MANDIR)/man1/presage.1 \
		$(DESTDIR)$(MANDIR)/man8/presaged.8 \
		$(DESTDIR)$(DATADIR)/bash-completion/completions/presage \
		$(DESTDIR)$(DATADIR)/presage/grafana-dashboard.json
	@echo "left $(DESTDIR)$(SYSCONFDIR)/presage/presage.json in place (configuration)"

# ---- hygiene ---------------------------------------------------------------
SRC_FILES = $(shell find bpf include user tools tests bench -name '*.[ch]' 2>/dev/null)

format:
	clang-format -i $(SRC_FILES)

lint: $(SKELS)
	clang-tidy --quiet $(filter %.c,$(SRC_FILES:%=%)) -- $(CPPFLAGS) -std=gnu11 \
		2>&1 | grep -v 'warnings generated' || true

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
