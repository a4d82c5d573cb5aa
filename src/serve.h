/*
 * serve.h: the daemon (serve.c), run by `pillory serve` (cmd_serve.c).
 */
#ifndef SERVE_H
#define SERVE_H

struct config;

/*
 * Bind, fork the auth process, drop privileges and run the engine until
 * SIGTERM or SIGINT. Takes cfg (the first generation; a SIGHUP replaces
 * it). Returns the exit status: 1 for a start-up error (printed on
 * stderr), else 0 after a clean stop.
 */
int serve_run(struct config *cfg);

#endif
