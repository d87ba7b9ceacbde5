// SPDX-License-Identifier: LGPL-2.1-or-later
/* Path state transitions (rtrs-wire.md 14) and names. */
#include <errno.h>
#include <string.h>

#include "rtrs.h"

#define BIT(s) (1u << (s))

/* Allowed previous states of each client state, as the kernel's
 * rtrs_clt_change_state(). */
static const unsigned int clt_from[] = {
	[RTRS_CLT_CONNECTING] = BIT(RTRS_CLT_RECONNECTING),
	[RTRS_CLT_CONNECTING_ERR] = BIT(RTRS_CLT_CONNECTING),
	[RTRS_CLT_RECONNECTING] = BIT(RTRS_CLT_CONNECTED) | BIT(RTRS_CLT_CONNECTING_ERR) |
				  BIT(RTRS_CLT_CLOSED),
	[RTRS_CLT_CONNECTED] = BIT(RTRS_CLT_CONNECTING),
	[RTRS_CLT_CLOSING] = BIT(RTRS_CLT_CONNECTING) | BIT(RTRS_CLT_CONNECTING_ERR) |
			     BIT(RTRS_CLT_RECONNECTING) | BIT(RTRS_CLT_CONNECTED),
	[RTRS_CLT_CLOSED] = BIT(RTRS_CLT_CLOSING),
	[RTRS_CLT_DEAD] = BIT(RTRS_CLT_CLOSED),
};

static const unsigned int srv_from[] = {
	[RTRS_SRV_CONNECTING] = 0,
	[RTRS_SRV_CONNECTED] = BIT(RTRS_SRV_CONNECTING),
	[RTRS_SRV_CLOSING] = BIT(RTRS_SRV_CONNECTING) | BIT(RTRS_SRV_CONNECTED),
	[RTRS_SRV_CLOSED] = BIT(RTRS_SRV_CLOSING),
};

bool rtrs_clt_state_change_ok(enum rtrs_clt_state from, enum rtrs_clt_state to)
{
	return (unsigned int)to <= RTRS_CLT_DEAD && (unsigned int)from <= RTRS_CLT_DEAD &&
	       (clt_from[to] & BIT(from));
}

bool rtrs_srv_state_change_ok(enum rtrs_srv_state from, enum rtrs_srv_state to)
{
	return (unsigned int)to <= RTRS_SRV_CLOSED && (unsigned int)from <= RTRS_SRV_CLOSED &&
	       (srv_from[to] & BIT(from));
}

const char *rtrs_clt_state_str(enum rtrs_clt_state s)
{
	static const char *const names[] = {
		[RTRS_CLT_CONNECTING] = "connecting",
		[RTRS_CLT_CONNECTING_ERR] = "connecting_err",
		[RTRS_CLT_RECONNECTING] = "reconnecting",
		[RTRS_CLT_CONNECTED] = "connected",
		[RTRS_CLT_CLOSING] = "closing",
		[RTRS_CLT_CLOSED] = "closed",
		[RTRS_CLT_DEAD] = "dead",
	};

	return (unsigned int)s <= RTRS_CLT_DEAD ? names[s] : "unknown";
}

const char *rtrs_srv_state_str(enum rtrs_srv_state s)
{
	static const char *const names[] = {
		[RTRS_SRV_CONNECTING] = "connecting",
		[RTRS_SRV_CONNECTED] = "connected",
		[RTRS_SRV_CLOSING] = "closing",
		[RTRS_SRV_CLOSED] = "closed",
	};

	return (unsigned int)s <= RTRS_SRV_CLOSED ? names[s] : "unknown";
}

/* The kernel's sysfs spellings: "round-robin", "min-inflight", "min-latency". */
static const char *const policy_names[] = {
	[RTRS_MP_POLICY_RR] = "round-robin",
	[RTRS_MP_POLICY_MIN_INFLIGHT] = "min-inflight",
	[RTRS_MP_POLICY_MIN_LATENCY] = "min-latency",
};

const char *rtrs_mp_policy_str(enum rtrs_mp_policy p)
{
	return (unsigned int)p <= RTRS_MP_POLICY_MIN_LATENCY ? policy_names[p] : "unknown";
}

int rtrs_mp_policy_parse(const char *s, enum rtrs_mp_policy *out)
{
	static const char *const short_names[] = { "rr", "mi", "ml" };

	for (unsigned int i = 0; i <= RTRS_MP_POLICY_MIN_LATENCY; i++) {
		if (!strcmp(s, policy_names[i]) || !strcmp(s, short_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}
