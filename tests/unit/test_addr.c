/*
 * test_addr.c: cmocka unit tests for addr.c: local domain matching (exact,
 * case-insensitive, never a look-alike or an address literal), routing
 * tricks in local parts, and the lower-case lookup key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"

static char	 name_example[] = "example.test";
static char	 name_mail[] = "mail.example.test";
static char	 name_org[] = "other.org";
static char	*local_names[] = { name_example, name_mail, name_org };
static const struct domain_list local_domains = { local_names, 3 };

static struct smtp_path
path_with_local(const char *local)
{
	struct smtp_path	path;

	memset(&path, 0, sizeof(path));
	assert_true(strlen(local) <= LOCAL_PART_MAX);
	memcpy(path.local, local, strlen(local) + 1);
	memcpy(path.domain, "example.test", sizeof("example.test"));
	return path;
}

/* Parse "TO:<arg>" with smtp_parse_rcpt, which must succeed. */
static struct smtp_path
parsed(const char *arg)
{
	struct smtp_path	path;
	struct span		s = { arg, strlen(arg) };

	if (smtp_parse_rcpt(s, &path) != SMTP_PATH_OK)
		fail_msg("\"%s\" did not parse", arg);
	return path;
}

static void
test_domain_exact(void **state)
{
	(void)state;
	assert_true(addr_domain_is_local(&local_domains, "example.test"));
	assert_true(addr_domain_is_local(&local_domains, "mail.example.test"));
	assert_true(addr_domain_is_local(&local_domains, "other.org"));
}

static void
test_domain_case(void **state)
{
	(void)state;
	assert_true(addr_domain_is_local(&local_domains, "EXAMPLE.TEST"));
	assert_true(addr_domain_is_local(&local_domains, "Example.Test"));
	assert_true(addr_domain_is_local(&local_domains, "MAIL.example.TEST"));
}

static void
test_domain_config_case(void **state)
{
	char			 mixed[] = "Example.ORG";
	char			*names[] = { mixed };
	struct domain_list	 list = { names, 1 };

	(void)state;
	/* the config stores lower case, but compare lower case anyway */
	assert_true(addr_domain_is_local(&list, "example.org"));
	assert_true(addr_domain_is_local(&list, "EXAMPLE.org"));
	assert_false(addr_domain_is_local(&list, "example.or"));
}

static void
test_domain_look_alikes(void **state)
{
	static const char *const others[] = {
		"example.test.evil.com", "xexample.test", "example.testx",
		"sub.example.test", "evil-example.test", "example.tes",
		"xample.test", "example.test.", ".example.test",
		"example..test", "example-test", "exampletest", "example",
		"test", "mail.example.test.evil.com", "mail.example",
		"other.org.example.test", "other.or", "example.test ",
		" example.test", "example.test@evil.com", "",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (addr_domain_is_local(&local_domains, others[i]))
			fail_msg("\"%s\" taken for local", others[i]);
}

static void
test_domain_literal_never_local(void **state)
{
	char			 lit4[] = "[192.0.2.1]";
	char			 lit6[] = "[ipv6:::1]";
	char			*names[] = { lit4, lit6, name_example };
	struct domain_list	 list = { names, 3 };

	(void)state;
	assert_false(addr_domain_is_local(&list, "[192.0.2.1]"));
	assert_false(addr_domain_is_local(&list, "[ipv6:::1]"));
	assert_false(addr_domain_is_local(&local_domains, "[192.0.2.1]"));
	assert_false(addr_domain_is_local(&local_domains, "[example.test]"));
	assert_true(addr_domain_is_local(&list, "example.test"));
}

static void
test_domain_empty_list(void **state)
{
	struct domain_list	empty = { NULL, 0 };
	char			*holes[] = { NULL, name_example };
	struct domain_list	with_hole = { holes, 2 };

	(void)state;
	assert_false(addr_domain_is_local(&empty, "example.test"));
	assert_false(addr_domain_is_local(&empty, ""));
	assert_false(addr_domain_is_local(NULL, "example.test"));
	assert_false(addr_domain_is_local(&local_domains, NULL));
	assert_true(addr_domain_is_local(&with_hole, "example.test"));
}

static void
test_domain_from_parser(void **state)
{
	struct smtp_path	path;

	(void)state;
	path = parsed("TO:<user@EXAMPLE.TEST>");
	assert_true(addr_domain_is_local(&local_domains, path.domain));
	path = parsed("TO:<user@example.test.evil.com>");
	assert_false(addr_domain_is_local(&local_domains, path.domain));
	path = parsed("TO:<user@xexample.test>");
	assert_false(addr_domain_is_local(&local_domains, path.domain));
	path = parsed("TO:<@example.test:user@evil.com>");
	assert_false(addr_domain_is_local(&local_domains, path.domain));
	path = parsed("TO:<@evil.com:user@example.test>");
	assert_true(addr_domain_is_local(&local_domains, path.domain));
	path = parsed("TO:<user@[192.0.2.1]>");
	assert_false(addr_domain_is_local(&local_domains, path.domain));
}

static void
test_routing_plain(void **state)
{
	static const char *const plain[] = {
		"user", "first.last", "user+tag", "a-b_c", "o'brien", "",
		"a b", "a\"b", "a\\b", "#$&*=?^`{|}~",
	};
	struct smtp_path	path;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		path = path_with_local(plain[i]);
		if (addr_local_has_routing(&path))
			fail_msg("\"%s\" taken for routing", plain[i]);
	}
}

static void
test_routing_tricks(void **state)
{
	static const char *const tricks[] = {
		"a%b", "user%evil.com", "evil.com!user", "!", "%", "@",
		"a@b", "user@evil.com", "a%b@c", "x!y%z",
	};
	struct smtp_path	path;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(tricks) / sizeof(tricks[0]); i++) {
		path = path_with_local(tricks[i]);
		if (!addr_local_has_routing(&path))
			fail_msg("\"%s\" not taken for routing", tricks[i]);
	}
}

static void
test_routing_from_parser(void **state)
{
	struct smtp_path	path;

	(void)state;
	path = parsed("TO:<user%evil.com@example.test>");
	assert_true(addr_local_has_routing(&path));
	path = parsed("TO:<evil.com!user@example.test>");
	assert_true(addr_local_has_routing(&path));
	path = parsed("TO:<\"user@evil.com\"@example.test>");
	assert_true(addr_local_has_routing(&path));
	path = parsed("TO:<\"user%evil.com\"@example.test>");
	assert_true(addr_local_has_routing(&path));
	path = parsed("TO:<\"a!b\"@example.test>");
	assert_true(addr_local_has_routing(&path));
	path = parsed("TO:<\"john doe\"@example.test>");
	assert_false(addr_local_has_routing(&path));
	path = parsed("TO:<user@example.test>");
	assert_false(addr_local_has_routing(&path));
	/* the source route is dropped, not a routing trick in the local part */
	path = parsed("TO:<@evil.com:user@example.test>");
	assert_false(addr_local_has_routing(&path));
	path = parsed("TO:<Postmaster>");
	assert_false(addr_local_has_routing(&path));
}

static void
test_lookup_key(void **state)
{
	char	out[ADDRESS_MAX + 1];

	(void)state;
	assert_true(addr_lookup_key("user", "example.test", out));
	assert_string_equal(out, "user@example.test");
	assert_true(addr_lookup_key("User.Name", "EXAMPLE.Test", out));
	assert_string_equal(out, "user.name@example.test");
	assert_true(addr_lookup_key("POSTMASTER", "example.test", out));
	assert_string_equal(out, "postmaster@example.test");
	/* the stored local part is used as is: no quoting is added */
	assert_true(addr_lookup_key("John Doe", "X.TEST", out));
	assert_string_equal(out, "john doe@x.test");
	assert_true(addr_lookup_key("", "x.test", out));
	assert_string_equal(out, "@x.test");
	assert_true(addr_lookup_key("a", "", out));
	assert_string_equal(out, "a@");
	assert_true(addr_lookup_key("a", "[IPv6:::1]", out));
	assert_string_equal(out, "a@[ipv6:::1]");
}

static void
test_lookup_key_limits(void **state)
{
	char	local[ADDRESS_MAX + 2], domain[ADDRESS_MAX + 2];
	char	out[ADDRESS_MAX + 2];

	(void)state;
	/* the longest parsed address fits easily */
	memset(local, 'L', LOCAL_PART_MAX);
	local[LOCAL_PART_MAX] = '\0';
	memset(domain, 'D', DOMAIN_MAX);
	domain[DOMAIN_MAX] = '\0';
	assert_true(addr_lookup_key(local, domain, out));
	assert_int_equal(strlen(out), LOCAL_PART_MAX + 1 + DOMAIN_MAX);
	assert_true(out[0] == 'l' && out[LOCAL_PART_MAX] == '@' &&
	    out[LOCAL_PART_MAX + 1] == 'd');

	/* exactly ADDRESS_MAX octets fits */
	memset(local, 'a', 100);
	local[100] = '\0';
	memset(domain, 'b', ADDRESS_MAX - 101);
	domain[ADDRESS_MAX - 101] = '\0';
	out[ADDRESS_MAX + 1] = 'Z';
	assert_true(addr_lookup_key(local, domain, out));
	assert_int_equal(strlen(out), ADDRESS_MAX);
	assert_true(out[ADDRESS_MAX + 1] == 'Z');

	/* one more does not, and leaves an empty string */
	memset(domain, 'b', ADDRESS_MAX - 100);
	domain[ADDRESS_MAX - 100] = '\0';
	assert_false(addr_lookup_key(local, domain, out));
	assert_string_equal(out, "");

	memset(local, 'a', ADDRESS_MAX + 1);
	local[ADDRESS_MAX + 1] = '\0';
	assert_false(addr_lookup_key(local, "", out));
	assert_false(addr_lookup_key("", local, out));
	local[ADDRESS_MAX] = '\0';
	assert_false(addr_lookup_key(local, "", out));
	local[ADDRESS_MAX - 1] = '\0';
	assert_true(addr_lookup_key(local, "", out));
	assert_true(addr_lookup_key("", local, out));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain_exact),
		cmocka_unit_test(test_domain_case),
		cmocka_unit_test(test_domain_config_case),
		cmocka_unit_test(test_domain_look_alikes),
		cmocka_unit_test(test_domain_literal_never_local),
		cmocka_unit_test(test_domain_empty_list),
		cmocka_unit_test(test_domain_from_parser),
		cmocka_unit_test(test_routing_plain),
		cmocka_unit_test(test_routing_tricks),
		cmocka_unit_test(test_routing_from_parser),
		cmocka_unit_test(test_lookup_key),
		cmocka_unit_test(test_lookup_key_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
