/*
 * floor: the least a server can do per banned connection, for
 * bench/defense/run to put pillory's cost beside.
 *
 *   floor PORT
 *
 * One thread, epoll, a PROXY listener on 127.0.0.1:PORT with
 * TCP_DEFER_ACCEPT and TCP_NODELAY: accept4, read the PROXY header, send
 * "554 5.7.1", wait for QUIT, send "221" (with MSG_MORE, so that it
 * leaves with the FIN), close. No parsing beyond that,
 * no ban lookup, no record, no log: what is left is the kernel's work for
 * one loopback TCP connection and the system calls every server must make.
 * Prints "ready" on stdout once listening; runs until killed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char	greet[] = "554 5.7.1 mx.example.test banned\r\n";
static const char	bye[] = "221 2.0.0 bye\r\n";

int
main(int argc, char **argv)
{
	struct sockaddr_in	sa;
	struct epoll_event	ev, evs[64];
	int			lfd, ep, one = 1;

	if (argc != 2)
		return (2);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
		return (1);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 4096) < 0)
		return (1);
	if ((ep = epoll_create1(0)) < 0)
		return (1);
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			char	buf[512];
			int	fd = evs[i].data.fd;

			if (fd != lfd) {
				/* QUIT (or anything, or EOF): answer, close;
				 * the 221 is corked so that it leaves with
				 * the FIN in one segment. */
				if (read(fd, buf, sizeof(buf)) > 0)
					(void)send(fd, bye, sizeof(bye) - 1,
					    MSG_MORE);
				close(fd);
				continue;
			}
			while ((fd = accept4(lfd, NULL, NULL,
			    SOCK_NONBLOCK)) >= 0) {
				if (read(fd, buf, sizeof(buf)) <= 0 ||
				    write(fd, greet, sizeof(greet) - 1) < 0) {
					close(fd);
					continue;
				}
				ev.events = EPOLLIN;
				ev.data.fd = fd;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			}
		}
	}
}
