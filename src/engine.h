/*
 * engine.h: what the unprivileged engine's sessions share: the event base,
 * the current config generation and the services built from it. One
 * instance, owned by serve.c; a SIGHUP builds new config and tables and
 * swaps the pointers between events, so a session reads them afresh each
 * time and never keeps a copy.
 */
#ifndef ENGINE_H
#define ENGINE_H

#include <stdint.h>

struct event_base;
struct config;
struct passwd_db;
struct alias_db;
struct spool;
struct dns;
struct attacklog;
struct auth_client;
struct store;
struct queue;
struct defense;
struct ssl_ctx_st;

struct engine {
	struct event_base	*base;
	struct config		*cfg;
	struct passwd_db	*users;		/* NULL: no passwd_file */
	struct alias_db		*aliases;	/* NULL: no aliases_file */
	struct spool		*spool;
	struct dns		*dns;		/* FCrDNS of clients */
	struct attacklog	*alog;		/* NULL in tools */
	struct auth_client	*auth;		/* password checks (auth.h) */
	struct store		*store;		/* grants; the loop's own handle */
	struct ssl_ctx_st	*tls;		/* NULL without [tls] cert */
	struct queue		*queue;		/* outbound queue (queue.h) */
	struct defense		*defense;	/* bans, DNSBL (defense.h) */
	uint64_t		 sessions;	/* open SMTP sessions */
	uint64_t		 next_session_id;
	bool			 stopping;
};

#endif
