# pillory build. Plain make + pkg-config; see README.md.
#   make            release build: build/pillory
#   make asan       AddressSanitizer + UBSan build: build/asan/pillory
#   make unit       cmocka unit tests (asan build)
#   make fuzz       libFuzzer targets (clang): build/fuzz/fuzz_*
#   make check      everything above, then tests/run (every test, counts)
#   make run        development server (installs packages, writes ./var)
#   make deps       install (as root) or name the packages tools/packages lists
#   make lint       tools/lint: fails on banned functions, include layering
#                   (pure files never include libevent's loop or session
#                   headers), comments citing files outside the repository,
#                   and clang-format differences in the files .lint-format
#                   lists

CC	?= cc
PKGS	= libevent_core libevent_extra libevent_openssl libevent_pthreads \
	  libcares sqlite3 libssl libcrypto libcrypt libsystemd libpsl libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN	= -std=c17 -Wall -Wextra -Werror -Wformat=2 -Wmissing-prototypes \
	  -Wshadow -Wstrict-prototypes -Wwrite-strings
HARDEN	= -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
DEFS	= -D_GNU_SOURCE
CFLAGS	?= -O2 -g
ALL_CFLAGS = $(WARN) $(DEFS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP
LDFLAGS_HARDEN = -pie -Wl,-z,relro,-z,now
LIBS	= $(PKG_LIBS) -lpthread -lm

SRC	:= $(sort $(wildcard src/*.c))
LIBSRC	:= $(filter-out src/main.c,$(SRC))
UNITSRC	:= $(sort $(wildcard tests/unit/test_*.c))
FUZZSRC	:= $(sort $(wildcard tests/fuzz/fuzz_*.c))

# release
OBJ	:= $(patsubst src/%.c,build/obj/%.o,$(SRC))
LIBOBJ	:= $(patsubst src/%.c,build/obj/%.o,$(LIBSRC))
# sanitizers
SAN	= -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	  -fno-omit-frame-pointer
AOBJ	:= $(patsubst src/%.c,build/asan/obj/%.o,$(SRC))
ALIBOBJ	:= $(patsubst src/%.c,build/asan/obj/%.o,$(LIBSRC))
UNITBIN	:= $(patsubst tests/unit/%.c,build/asan/%,$(UNITSRC))
# fuzz (clang only)
FUZZCC	?= clang
FOBJ	:= $(patsubst src/%.c,build/fuzz/obj/%.o,$(LIBSRC))
FUZZBIN	:= $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZSRC))

.PHONY: all asan unit fuzz check run lint clean bench deps
all: build/pillory

build/pillory: $(OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS_HARDEN) -o $@ $(OBJ) $(LIBS)

build/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARDEN) -c -o $@ $<

asan: build/asan/pillory
build/asan/pillory: $(AOBJ)
	$(CC) $(SAN) -o $@ $(AOBJ) $(LIBS)
build/asan/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O1 -g $(SAN) -c -o $@ $<
build/asan/libpillory.a: $(ALIBOBJ)
	rm -f $@; ar rcs $@ $(ALIBOBJ)

unit: $(UNITBIN)
build/asan/test_%: tests/unit/test_%.c build/asan/libpillory.a
	$(CC) $(WARN) $(DEFS) -O1 -g $(SAN) -Isrc $(PKG_CFLAGS) \
	    $(shell pkg-config --cflags cmocka) -o $@ $< build/asan/libpillory.a \
	    $(shell pkg-config --libs cmocka) $(LIBS)

fuzz: $(FUZZBIN)
build/fuzz/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZCC) $(WARN) -Wno-unused-command-line-argument $(DEFS) -O1 -g \
	    -fsanitize=fuzzer-no-link,address,undefined $(PKG_CFLAGS) -c -o $@ $<
build/fuzz/libpillory.a: $(FOBJ)
	rm -f $@; ar rcs $@ $(FOBJ)
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c build/fuzz/libpillory.a
	$(FUZZCC) $(WARN) $(DEFS) -O1 -g -fsanitize=fuzzer,address,undefined \
	    -Isrc $(PKG_CFLAGS) -o $@ $< build/fuzz/libpillory.a $(LIBS)

# The package check runs first; the builds then run in a new make, whose
# pkg-config flags see the packages just installed.
check:
	tools/deps check
	$(MAKE) build/pillory build/asan/pillory unit fuzz
	tests/run

run:
	tools/devrun

deps:
	tools/deps check

bench: build/pillory
	bench/run

lint:
	tools/lint

clean:
	rm -rf build

# ---- install, man pages, packaging (README "Installing") ----
#   make man        build/man/pillory.8, build/man/pillory.conf.5
#   make install    PREFIX (/usr/local), DESTDIR, SYSCONFDIR (see below)
#   make uninstall  remove what install put there (not the config)
PREFIX	?= /usr/local
# autotools' rule: /usr/local keeps its config under PREFIX/etc; a system
# prefix (/usr) uses /etc. Systemd units go where systemd looks for them.
ifeq ($(PREFIX),/usr)
SYSCONFDIR ?= /etc
UNITDIR	?= /lib/systemd/system
else
SYSCONFDIR ?= $(PREFIX)/etc
UNITDIR	?= $(PREFIX)/lib/systemd/system
endif
SBINDIR	?= $(PREFIX)/sbin
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
INSTALL	?= install
UNITS	= pillory.service pillory-import.service pillory-policy.service

.PHONY: man install uninstall
man: build/man/pillory.8 build/man/pillory.conf.5

# The key table's validators call into the library: link it all.
build/man/gen_conf_keys: man/gen_conf_keys.c src/config_keys.h $(LIBOBJ)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) $(PKG_CFLAGS) -Isrc -o $@ man/gen_conf_keys.c \
	    $(LIBOBJ) $(LIBS)

build/man/pillory.conf.5: man/pillory.conf.5.in man/pillory.conf.5.tail \
    build/man/gen_conf_keys
	{ cat man/pillory.conf.5.in; build/man/gen_conf_keys; \
	    cat man/pillory.conf.5.tail; } > $@.tmp && mv $@.tmp $@

build/man/pillory.8: man/pillory.8.in man/gen_commands.awk build/pillory
	@mkdir -p $(dir $@)
	build/pillory --help | awk -f man/gen_commands.awk > $@.cmds
	sed -e '/^@COMMANDS@$$/{r $@.cmds' -e 'd;}' man/pillory.8.in > $@.tmp
	rm -f $@.cmds && mv $@.tmp $@

install: build/pillory man
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(SYSCONFDIR)/pillory $(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 755 build/pillory $(DESTDIR)$(SBINDIR)/pillory
	ln -sf pillory $(DESTDIR)$(SBINDIR)/sendmail
	ln -sf pillory $(DESTDIR)$(SBINDIR)/mailq
	ln -sf pillory $(DESTDIR)$(SBINDIR)/newaliases
	ln -sf $(SBINDIR)/pillory $(DESTDIR)$(BINDIR)/mailq
	ln -sf $(SBINDIR)/pillory $(DESTDIR)$(BINDIR)/newaliases
	$(INSTALL) -m 644 build/man/pillory.8 $(DESTDIR)$(MANDIR)/man8/pillory.8
	ln -sf pillory.8 $(DESTDIR)$(MANDIR)/man8/sendmail.8
	ln -sf pillory.8 $(DESTDIR)$(MANDIR)/man8/mailq.8
	ln -sf pillory.8 $(DESTDIR)$(MANDIR)/man8/newaliases.8
	$(INSTALL) -m 644 build/man/pillory.conf.5 \
	    $(DESTDIR)$(MANDIR)/man5/pillory.conf.5
	# Never overwrite an admin's config.
	[ -e $(DESTDIR)$(SYSCONFDIR)/pillory/pillory.conf ] || \
	    $(INSTALL) -m 644 etc/pillory.conf \
	    $(DESTDIR)$(SYSCONFDIR)/pillory/pillory.conf
	for u in $(UNITS); do \
	    sed -e 's|@SBINDIR@|$(SBINDIR)|g' \
	        -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' systemd/$$u.in \
	        > $(DESTDIR)$(UNITDIR)/$$u.tmp && \
	    chmod 644 $(DESTDIR)$(UNITDIR)/$$u.tmp && \
	    mv $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/pillory $(DESTDIR)$(SBINDIR)/sendmail \
	    $(DESTDIR)$(SBINDIR)/mailq $(DESTDIR)$(SBINDIR)/newaliases \
	    $(DESTDIR)$(BINDIR)/mailq $(DESTDIR)$(BINDIR)/newaliases \
	    $(DESTDIR)$(MANDIR)/man8/pillory.8 \
	    $(DESTDIR)$(MANDIR)/man8/sendmail.8 \
	    $(DESTDIR)$(MANDIR)/man8/mailq.8 \
	    $(DESTDIR)$(MANDIR)/man8/newaliases.8 \
	    $(DESTDIR)$(MANDIR)/man5/pillory.conf.5
	for u in $(UNITS); do rm -f $(DESTDIR)$(UNITDIR)/$$u; done
	@echo "kept $(DESTDIR)$(SYSCONFDIR)/pillory/pillory.conf"
# ---- end install ----

-include $(OBJ:.o=.d) $(AOBJ:.o=.d) $(FOBJ:.o=.d)
