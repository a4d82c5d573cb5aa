/*
 * proctitle.h: process titles as ps(1) shows them ("pillory: engine",
 * "pillory: auth"), the way Postfix and Dovecot name their processes.
 */
#ifndef PROCTITLE_H
#define PROCTITLE_H

/*
 * Call once from main() before anything reads argv or the environment:
 * copies the argument strings and the environment elsewhere (argv[i] and
 * environ point to the copies afterwards) so that the contiguous area the
 * kernel shows in /proc/PID/cmdline can hold a title.
 */
void proctitle_init(int argc, char **argv);

/* Show title (truncated to the area saved by proctitle_init) in ps -o args
 * and, first 15 bytes, in ps -o comm. A no-op before proctitle_init. */
void proctitle_set(const char *title);

#endif
