/*
 * test_tls.c: unit tests for building the TLS server context from open
 * descriptors (src/tls.c, tls_server_ctx_fd), the SIGHUP path: a good
 * pair, a chain, key and certificate in one file, and every broken file
 * refused with a message naming it. Keys and certificates are made here
 * with OpenSSL (EC P-256, fast).
 */

#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tls.h"

static EVP_PKEY *
make_key(void)
{
	EVP_PKEY	*k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return (k);
}

/* A certificate for cn with key's public half, signed by signer. */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, EVP_PKEY *signer)
{
	X509		*x = X509_new();
	X509_NAME	*name;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
	return (x);
}

/* An unlinked temporary file; returns its fd and a stream on it. */
static int
temp_file(FILE **fp_out)
{
	char	path[] = "/tmp/pillory-tls-XXXXXX";
	int	fd = mkstemp(path);

	assert_true(fd != -1);
	unlink(path);
	*fp_out = fdopen(dup(fd), "w");
	assert_non_null(*fp_out);
	return (fd);
}

static int
pem_cert(X509 *a, X509 *b)
{
	FILE	*fp;
	int	 fd = temp_file(&fp);

	assert_true(PEM_write_X509(fp, a) == 1);
	if (b != NULL)
		assert_true(PEM_write_X509(fp, b) == 1);
	fclose(fp);
	return (fd);
}

static int
pem_key(EVP_PKEY *k)
{
	FILE	*fp;
	int	 fd = temp_file(&fp);

	assert_true(PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL,
	    NULL) == 1);
	fclose(fp);
	return (fd);
}

static int
text_file(const char *text)
{
	FILE	*fp;
	int	 fd = temp_file(&fp);

	fputs(text, fp);
	fclose(fp);
	return (fd);
}

static void
test_good_pair_and_chain(void **state)
{
	EVP_PKEY	*ca_key = make_key(), *key = make_key();
	X509		*ca = make_cert(ca_key, "ca.example.test", ca_key);
	X509		*leaf = make_cert(key, "mx.example.test", ca_key);
	STACK_OF(X509)	*chain = NULL;
	SSL_CTX		*ctx;
	char		 err[512];
	int		 cfd, kfd;

	(void)state;
	cfd = pem_cert(leaf, ca);
	kfd = pem_key(key);
	/* A descriptor read before (offset at the end) still reads whole. */
	lseek(cfd, 0, SEEK_END);
	ctx = tls_server_ctx_fd(cfd, "cert.pem", kfd, "key.pem", err,
	    sizeof(err));
	if (ctx == NULL)
		fail_msg("%s", err);
	assert_int_equal(X509_cmp(SSL_CTX_get0_certificate(ctx), leaf), 0);
	assert_true(SSL_CTX_get0_chain_certs(ctx, &chain) == 1);
	assert_non_null(chain);
	assert_int_equal(sk_X509_num(chain), 1);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 0), ca), 0);
	SSL_CTX_free(ctx);
	close(cfd);
	close(kfd);
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
}

/* Key and certificate in one file, as some admins keep them. */
static void
test_one_file(void **state)
{
	EVP_PKEY	*key = make_key();
	X509		*x = make_cert(key, "mx.example.test", key);
	SSL_CTX		*ctx;
	FILE		*fp;
	char		 err[512];
	int		 fd;

	(void)state;
	fd = temp_file(&fp);
	assert_true(PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL,
	    NULL) == 1);
	assert_true(PEM_write_X509(fp, x) == 1);
	fclose(fp);
	ctx = tls_server_ctx_fd(fd, "both.pem", fd, "both.pem", err,
	    sizeof(err));
	if (ctx == NULL)
		fail_msg("%s", err);
	SSL_CTX_free(ctx);
	close(fd);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void
assert_refused(int cfd, int kfd, const char *want)
{
	SSL_CTX	*ctx;
	char	 err[512];

	err[0] = '\0';
	ctx = tls_server_ctx_fd(cfd, "/etc/new-cert.pem", kfd,
	    "/etc/new-key.pem", err, sizeof(err));
	if (ctx != NULL || strstr(err, want) == NULL)
		fail_msg("got %p '%s', want '%s'", (void *)ctx, err, want);
	SSL_CTX_free(ctx);
}

static void
test_broken_files(void **state)
{
	EVP_PKEY	*key = make_key(), *other = make_key();
	X509		*x = make_cert(key, "mx.example.test", key);
	int		 cfd = pem_cert(x, NULL), kfd = pem_key(key);
	int		 okfd = pem_key(other);
	int		 empty = text_file("");
	int		 garbage = text_file("-----BEGIN CERTIFICATE-----\n"
	    "broken\n-----END CERTIFICATE-----\n");
	int		 junk = text_file("not a pem file at all\n");

	(void)state;
	assert_refused(cfd, okfd, "/etc/new-key.pem: key does not match");
	assert_refused(garbage, kfd, "/etc/new-cert.pem: cannot load "
	    "certificate");
	assert_refused(empty, kfd, "/etc/new-cert.pem: cannot load "
	    "certificate");
	assert_refused(cfd, empty, "/etc/new-key.pem: cannot load private");
	assert_refused(cfd, junk, "/etc/new-key.pem: cannot load private");
	assert_refused(-1, kfd, "/etc/new-cert.pem: Bad file descriptor");
	close(cfd);
	close(kfd);
	close(okfd);
	close(empty);
	close(garbage);
	close(junk);
	X509_free(x);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_pair_and_chain),
		cmocka_unit_test(test_one_file),
		cmocka_unit_test(test_broken_files),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
