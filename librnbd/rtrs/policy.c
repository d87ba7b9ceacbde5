// SPDX-License-Identifier: LGPL-2.1-or-later
#include "policy.h"

static bool usable(const struct rtrs_mp_cand *cand, unsigned int i,
		   const struct rtrs_path_mask *tried)
{
	return cand[i].up && !rtrs_path_mask_has(tried, i);
}

int rtrs_mp_pick(enum rtrs_mp_policy policy, const struct rtrs_mp_cand *cand, unsigned int n,
		 const struct rtrs_path_mask *tried, unsigned int *cursor)
{
	int best = -1;

	if (!n)
		return -1;
	if (policy == RTRS_MP_POLICY_RR) {
		for (unsigned int k = 1; k <= n; k++) {
			unsigned int i = (*cursor + k) % n;

			if (usable(cand, i, tried)) {
				*cursor = i;
				return (int)i;
			}
		}
		return -1;
	}
	for (unsigned int i = 0; i < n; i++) {
		uint64_t v, b;

		if (!usable(cand, i, tried))
			continue;
		if (best < 0) {
			best = (int)i;
			continue;
		}
		v = policy == RTRS_MP_POLICY_MIN_LATENCY ? cand[i].latency_ns : cand[i].inflight;
		b = policy == RTRS_MP_POLICY_MIN_LATENCY ? cand[best].latency_ns : cand[best].inflight;
		if (v < b)
			best = (int)i;
	}
	return best;
}
