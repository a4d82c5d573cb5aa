/*
 * auth_proc.h: the auth process. Forked by serve.c before the engine drops
 * its privileges; it alone reads the passwd-file and runs crypt(3). It has
 * no network socket: only the socketpair to the engine.
 */
#ifndef AUTH_PROC_H
#define AUTH_PROC_H

/* Serve requests on fd until the engine goes away; returns an exit code. */
int auth_proc_run(int fd, const char *passwd_file);

#endif
