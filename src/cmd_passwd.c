/*
 * cmd_passwd.c: `pillory passwd [--scheme S]`: read a password and print
 * "{SCHEME}hash" for the passwd-file. On a terminal it prompts on
 * /dev/tty without echo and asks twice (as doveadm pw does); piped stdin
 * gives one line. The password is wiped from memory after use.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cmd.h"
#include "passwd_file.h"

#define PASSWORD_MAX	1024

/* Read one line from fp into buf (PASSWORD_MAX + 2 bytes) without its line
 * end. Returns the length, -1 at end of input, -2 when too long. */
static int
read_line(FILE *fp, char *buf, size_t size)
{
	size_t	len;

	if (fgets(buf, (int)size, fp) == NULL)
		return -1;
	len = strcspn(buf, "\r\n");
	if (len > PASSWORD_MAX)
		return -2;
	buf[len] = '\0';
	return (int)len;
}

/* Prompt on the terminal fd with echo off; the terminal state is restored
 * whatever happens (SIGINT included: it is blocked while echo is off). */
static int
read_tty(int fd, FILE *fp, const char *prompt, char *buf, size_t size)
{
	struct termios	 old, raw;
	sigset_t	 block, saved;
	int		 n;

	if (tcgetattr(fd, &old) == -1)
		return -1;
	raw = old;
	raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	raw.c_lflag |= ICANON;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTSTP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &saved);
	/* Echo off before the prompt: what is typed after it never shows. */
	if (tcsetattr(fd, TCSAFLUSH, &raw) == -1) {
		sigprocmask(SIG_SETMASK, &saved, NULL);
		return -1;
	}
	(void)!write(fd, prompt, strlen(prompt));
	n = read_line(fp, buf, size);
	tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	return n;
}

int
cmd_passwd(const struct config *cfg, int argc, char **argv)
{
	const char	*scheme = "SHA512-CRYPT";
	char		 pw[PASSWORD_MAX + 2], again[PASSWORD_MAX + 2];
	char		 out[512];
	FILE		*tty = NULL;
	int		 len, len2, rc = 1;

	(void)cfg;
	if (argc == 3 && strcmp(argv[1], "--scheme") == 0)
		scheme = argv[2];
	else if (argc != 1) {
		fprintf(stderr, "usage: pillory passwd [--scheme "
		    "SHA512-CRYPT|SHA256-CRYPT|BLF-CRYPT|YESCRYPT]\n");
		return 2;
	}
	memset(again, 0, sizeof(again));
	if (isatty(STDIN_FILENO) &&
	    (tty = fopen("/dev/tty", "r+e")) != NULL) {
		setvbuf(tty, NULL, _IONBF, 0);
		len = read_tty(fileno(tty), tty, "Enter new password: ", pw,
		    sizeof(pw));
		if (len >= 0) {
			len2 = read_tty(fileno(tty), tty,
			    "Retype new password: ", again, sizeof(again));
			if (len2 != len || strcmp(pw, again) != 0) {
				fprintf(stderr, "pillory passwd: passwords "
				    "do not match\n");
				goto done;
			}
		}
	} else
		len = read_line(stdin, pw, sizeof(pw));
	if (len == -1) {
		fprintf(stderr, "pillory passwd: no password on %s\n",
		    tty != NULL ? "the terminal" : "stdin");
		goto done;
	}
	if (len == -2) {
		fprintf(stderr, "pillory passwd: password too long\n");
		goto done;
	}
	if (len == 0) {
		fprintf(stderr, "pillory passwd: empty password\n");
		goto done;
	}
	if (!passwd_file_hash(scheme, pw, out, sizeof(out))) {
		fprintf(stderr, "pillory passwd: cannot hash with scheme %s\n",
		    scheme);
		goto done;
	}
	printf("%s\n", out);
	rc = 0;
done:
	if (tty != NULL)
		fclose(tty);
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(again, sizeof(again));
	return rc;
}

const struct cmd_entry cmd_passwd_entry = {
	.name = "passwd",
	.usage = "[--scheme SCHEME]",
	.help = "read a password on stdin, print a passwd-file hash",
	.needs_config = false,
	.run = cmd_passwd,
};
