# pillory build. Plain make + pkg-config; see README.md.
#   make            release build: build/pillory
#   make asan       AddressSanitizer + UBSan build: build/asan/pillory
#   make unit       cmocka unit tests (asan build)
#   make fuzz       libFuzzer targets (clang): build/fuzz/fuzz_*
#   make check      everything above, then tests/run (every test, counts)
#   make run        development server (installs packages, writes ./var)
#   make lint       banned functions, clang-format check

CC	?= cc
PKGS	= libevent_core libevent_extra libevent_openssl libevent_pthreads \
	  libcares sqlite3 libssl libcrypto libcrypt libpsl
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

.PHONY: all asan unit fuzz check run lint clean bench
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

check: build/pillory build/asan/pillory unit fuzz
	tests/run

run:
	tools/devrun

bench: build/pillory
	bench/run

lint:
	@! grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|strncpy|strtok|atoi)\s*\(' \
	    src/*.c src/*.h tests/unit/*.c tests/fuzz/*.c || \
	    { echo "lint: banned function (STYLE.md, Buffers)"; exit 1; }
	@clang-format --dry-run --Werror src/*.c src/*.h 2>/dev/null || \
	    echo "lint: clang-format differences (advisory)"

clean:
	rm -rf build

-include $(OBJ:.o=.d) $(AOBJ:.o=.d) $(FOBJ:.o=.d)
