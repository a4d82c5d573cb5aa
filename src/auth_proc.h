/*
 * auth_proc.h: the auth process. Forked by serve.c before the engine drops
 * its privileges; it alone reads the passwd-file and runs crypt(3). It has
 * no network socket: only the socketpairs to the engine. It keeps root, so
 * it is also the side that re-reads root-only files on SIGHUP.
 */
#ifndef AUTH_PROC_H
#define AUTH_PROC_H

/*
 * Serve login checks on fd, and SIGHUP reloads on reload_fd (a
 * SOCK_SEQPACKET socket, ipc.h): re-read config_path and what it names,
 * as root, and hand the engine descriptors. Runs until the engine goes
 * away; returns an exit code.
 */
int auth_proc_run(int fd, int reload_fd, const char *config_path,
    const char *passwd_file);

#endif
