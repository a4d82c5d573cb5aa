/* Unit tests for the relay decision: every licence and every trick. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "relay.h"

static struct relay_decision
decide(bool trusted, bool auth, bool grant, bool snull, bool slocal,
    bool rlocal, bool literal, bool routing, bool forged_rule)
{
	struct relay_input in = {
		.client_trusted = trusted, .client_authenticated = auth,
		.client_pop_grant = grant, .sender_null = snull,
		.sender_local = slocal, .rcpt_local_domain = rlocal,
		.rcpt_literal = literal, .rcpt_routing = routing,
		.reject_forged_local_sender = forged_rule,
	};
	return relay_decide(&in);
}

static void
test_outside_to_outside_denied(void **state)
{
	struct relay_decision d;

	(void)state;
	d = decide(false, false, false, false, false, false, false, false, true);
	assert_int_equal(d.verdict, RELAY_DENY);
	assert_true(d.is_attack);
	assert_int_equal(d.kind, ATTACK_RELAY);
}

static void
test_local_sender_is_no_licence(void **state)
{
	struct relay_decision d;

	(void)state;
	/* The seed's attack: our domain as sender, outside recipient. */
	d = decide(false, false, false, false, true, false, false, false, true);
	assert_int_equal(d.verdict, RELAY_DENY);
	assert_true(d.is_attack);
	assert_int_equal(d.kind, ATTACK_SPOOFED_RELAY);
	/* Even with the forged-local rule off. */
	d = decide(false, false, false, false, true, false, false, false, false);
	assert_int_equal(d.verdict, RELAY_DENY);
}

static void
test_null_sender_is_no_licence(void **state)
{
	struct relay_decision d;

	(void)state;
	d = decide(false, false, false, true, false, false, false, false, true);
	assert_int_equal(d.verdict, RELAY_DENY);
	assert_int_equal(d.kind, ATTACK_RELAY);
}

static void
test_each_licence_allows(void **state)
{
	(void)state;
	assert_int_equal(decide(true, false, false, false, false, false, false,
	    false, true).verdict, RELAY_ALLOW);
	assert_int_equal(decide(false, true, false, false, false, false, false,
	    false, true).verdict, RELAY_ALLOW);
	assert_int_equal(decide(false, false, true, false, false, false, false,
	    false, true).verdict, RELAY_ALLOW);
	assert_false(decide(true, false, false, false, true, false, false,
	    false, true).is_attack);
}

static void
test_local_delivery(void **state)
{
	struct relay_decision d;

	(void)state;
	d = decide(false, false, false, false, false, true, false, false, true);
	assert_int_equal(d.verdict, RELAY_DELIVER_LOCAL);
	assert_false(d.is_attack);
	d = decide(false, false, false, true, false, true, false, false, true);
	assert_int_equal(d.verdict, RELAY_DELIVER_LOCAL);
}

static void
test_forged_local_sender(void **state)
{
	struct relay_decision d;

	(void)state;
	d = decide(false, false, false, false, true, true, false, false, true);
	assert_int_equal(d.verdict, RELAY_DENY_FORGED_LOCAL);
	assert_true(d.is_attack);
	assert_int_equal(d.kind, ATTACK_FORGED_LOCAL);
	/* Rule off: delivered. */
	d = decide(false, false, false, false, true, true, false, false, false);
	assert_int_equal(d.verdict, RELAY_DELIVER_LOCAL);
	/* Licensed clients may use local senders. */
	d = decide(false, true, false, false, true, true, false, false, true);
	assert_int_equal(d.verdict, RELAY_DELIVER_LOCAL);
	d = decide(true, false, false, false, true, true, false, false, true);
	assert_int_equal(d.verdict, RELAY_DELIVER_LOCAL);
}

static void
test_routing_tricks(void **state)
{
	struct relay_decision d;

	(void)state;
	/* user%victim@ours from outside: relay attempt. */
	d = decide(false, false, false, false, false, true, false, true, true);
	assert_int_equal(d.verdict, RELAY_DENY);
	assert_true(d.is_attack);
	assert_int_equal(d.kind, ATTACK_RELAY);
	d = decide(false, false, false, false, true, true, false, true, true);
	assert_int_equal(d.kind, ATTACK_SPOOFED_RELAY);
	/* From a licensed client it is looked up as a (missing) local user,
	 * never rewritten into a route. */
	d = decide(true, false, false, false, false, true, false, true, true);
	assert_int_equal(d.verdict, RELAY_DELIVER_LOCAL);
}

static void
test_address_literals(void **state)
{
	struct relay_decision d;

	(void)state;
	d = decide(false, false, false, false, false, false, true, false, true);
	assert_int_equal(d.verdict, RELAY_DENY);
	assert_true(d.is_attack);
	d = decide(true, false, false, false, false, false, true, false, true);
	assert_int_equal(d.verdict, RELAY_DENY_LITERAL);
	assert_false(d.is_attack);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outside_to_outside_denied),
		cmocka_unit_test(test_local_sender_is_no_licence),
		cmocka_unit_test(test_null_sender_is_no_licence),
		cmocka_unit_test(test_each_licence_allows),
		cmocka_unit_test(test_local_delivery),
		cmocka_unit_test(test_forged_local_sender),
		cmocka_unit_test(test_routing_tricks),
		cmocka_unit_test(test_address_literals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
