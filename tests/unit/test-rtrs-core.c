// SPDX-License-Identifier: LGPL-2.1-or-later
/* RTRS core pieces without I/O: path states, multipath choice, permits,
 * the loop mailbox. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>

#include "check-main.h"
#include "rtrs/loop.h"
#include "rtrs/permit.h"
#include "rtrs/policy.h"
#include "rtrs/rtrs.h"

/* rtrs-wire.md 14: the kernel's table, as a whole matrix. */
START_TEST(clt_transitions)
{
	static const struct {
		enum rtrs_clt_state to;
		unsigned int from_mask;
	} table[] = {
#define B(s) (1u << RTRS_CLT_##s)
		{ RTRS_CLT_CONNECTING, B(RECONNECTING) },
		{ RTRS_CLT_CONNECTING_ERR, B(CONNECTING) },
		{ RTRS_CLT_RECONNECTING, B(CONNECTED) | B(CONNECTING_ERR) | B(CLOSED) },
		{ RTRS_CLT_CONNECTED, B(CONNECTING) },
		{ RTRS_CLT_CLOSING, B(CONNECTING) | B(CONNECTING_ERR) | B(RECONNECTING) | B(CONNECTED) },
		{ RTRS_CLT_CLOSED, B(CLOSING) },
		{ RTRS_CLT_DEAD, B(CLOSED) },
#undef B
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		for (int from = RTRS_CLT_CONNECTING; from <= RTRS_CLT_DEAD; from++)
			ck_assert_msg(rtrs_clt_state_change_ok(from, table[i].to) ==
				      !!(table[i].from_mask & (1u << from)),
				      "%s -> %s", rtrs_clt_state_str(from),
				      rtrs_clt_state_str(table[i].to));
	ck_assert(!rtrs_clt_state_change_ok(RTRS_CLT_DEAD, 99));
	ck_assert(!rtrs_clt_state_change_ok(99, RTRS_CLT_CLOSED));
}
END_TEST

START_TEST(srv_transitions)
{
	ck_assert(rtrs_srv_state_change_ok(RTRS_SRV_CONNECTING, RTRS_SRV_CONNECTED));
	ck_assert(rtrs_srv_state_change_ok(RTRS_SRV_CONNECTING, RTRS_SRV_CLOSING));
	ck_assert(rtrs_srv_state_change_ok(RTRS_SRV_CONNECTED, RTRS_SRV_CLOSING));
	ck_assert(rtrs_srv_state_change_ok(RTRS_SRV_CLOSING, RTRS_SRV_CLOSED));
	ck_assert(!rtrs_srv_state_change_ok(RTRS_SRV_CLOSED, RTRS_SRV_CONNECTING));
	ck_assert(!rtrs_srv_state_change_ok(RTRS_SRV_CONNECTED, RTRS_SRV_CONNECTED));
	ck_assert(!rtrs_srv_state_change_ok(RTRS_SRV_CLOSING, RTRS_SRV_CLOSING));
	ck_assert(!rtrs_srv_state_change_ok(RTRS_SRV_CLOSED, RTRS_SRV_CLOSING));
}
END_TEST

START_TEST(names_and_policy_parse)
{
	enum rtrs_mp_policy p;

	ck_assert_str_eq(rtrs_clt_state_str(RTRS_CLT_CONNECTING_ERR), "connecting_err");
	ck_assert_str_eq(rtrs_srv_state_str(RTRS_SRV_CLOSING), "closing");
	ck_assert_int_eq(rtrs_mp_policy_parse("min-latency", &p), 0);
	ck_assert_int_eq(p, RTRS_MP_POLICY_MIN_LATENCY);
	ck_assert_int_eq(rtrs_mp_policy_parse("rr", &p), 0);
	ck_assert_int_eq(p, RTRS_MP_POLICY_RR);
	ck_assert_int_eq(rtrs_mp_policy_parse("mi", &p), 0);
	ck_assert_int_eq(p, RTRS_MP_POLICY_MIN_INFLIGHT);
	ck_assert_int_eq(rtrs_mp_policy_parse("fastest", &p), -EINVAL);
	ck_assert_str_eq(rtrs_mp_policy_str(RTRS_MP_POLICY_MIN_INFLIGHT), "min-inflight");
}
END_TEST

START_TEST(rr_rotates_and_skips)
{
	struct rtrs_mp_cand c[4] = { { .up = true }, { .up = false }, { .up = true }, { .up = true } };
	struct rtrs_path_mask none = { 0 }, tried = { 0 };
	unsigned int cur = 0;
	int seq[6];

	for (int i = 0; i < 6; i++)
		seq[i] = rtrs_mp_pick(RTRS_MP_POLICY_RR, c, 4, &none, &cur);
	/* from after 0: 2, 3, 0, 2, 3, 0 (1 is down) */
	ck_assert_int_eq(seq[0], 2);
	ck_assert_int_eq(seq[1], 3);
	ck_assert_int_eq(seq[2], 0);
	ck_assert_int_eq(seq[3], 2);
	ck_assert_int_eq(seq[4], 3);
	ck_assert_int_eq(seq[5], 0);
	rtrs_path_mask_set(&tried, 2);
	rtrs_path_mask_set(&tried, 3);
	ck_assert_int_eq(rtrs_mp_pick(RTRS_MP_POLICY_RR, c, 4, &tried, &cur), 0);
	rtrs_path_mask_set(&tried, 0);
	ck_assert_int_eq(rtrs_mp_pick(RTRS_MP_POLICY_RR, c, 4, &tried, &cur), -1);
	ck_assert_int_eq(rtrs_mp_pick(RTRS_MP_POLICY_RR, c, 0, &none, &cur), -1);
}
END_TEST

START_TEST(min_inflight_and_latency)
{
	struct rtrs_mp_cand c[4] = {
		{ .up = true, .inflight = 7, .latency_ns = 100 },
		{ .up = true, .inflight = 3, .latency_ns = 900 },
		{ .up = false, .inflight = 0, .latency_ns = 1 },
		{ .up = true, .inflight = 3, .latency_ns = 50 },
	};
	struct rtrs_path_mask none = { 0 }, tried = { 0 };
	unsigned int cur = 0;

	/* lowest inflight, first on a tie; a down path never wins */
	ck_assert_int_eq(rtrs_mp_pick(RTRS_MP_POLICY_MIN_INFLIGHT, c, 4, &none, &cur), 1);
	ck_assert_int_eq(rtrs_mp_pick(RTRS_MP_POLICY_MIN_LATENCY, c, 4, &none, &cur), 3);
	/* a tried path is skipped: next best */
	rtrs_path_mask_set(&tried, 1);
	ck_assert_int_eq(rtrs_mp_pick(RTRS_MP_POLICY_MIN_INFLIGHT, c, 4, &tried, &cur), 3);
	rtrs_path_mask_set(&tried, 3);
	ck_assert_int_eq(rtrs_mp_pick(RTRS_MP_POLICY_MIN_LATENCY, c, 4, &tried, &cur), 0);
	rtrs_path_mask_set(&tried, 0);
	ck_assert_int_eq(rtrs_mp_pick(RTRS_MP_POLICY_MIN_INFLIGHT, c, 4, &tried, &cur), -1);
	/* slot 127 works: the mask spans all MAX_PATHS_NUM slots */
	{
		struct rtrs_mp_cand big[MAX_PATHS_NUM] = { 0 };
		struct rtrs_path_mask m = { 0 };

		big[127].up = true;
		ck_assert_int_eq(rtrs_mp_pick(RTRS_MP_POLICY_MIN_LATENCY, big, 128, &m, &cur), 127);
		rtrs_path_mask_set(&m, 127);
		ck_assert(rtrs_path_mask_has(&m, 127));
		ck_assert(!rtrs_path_mask_has(&m, 63));
		ck_assert_int_eq(rtrs_mp_pick(RTRS_MP_POLICY_MIN_LATENCY, big, 128, &m, &cur), -1);
	}
}
END_TEST

START_TEST(permits_exhaust_and_return)
{
	struct rtrs_permits p;
	uint8_t seen[100] = { 0 };

	ck_assert_int_eq(rtrs_permits_init(&p, 100), 0);
	for (int i = 0; i < 100; i++) {
		int id = rtrs_permit_get(&p, (uint32_t)i);

		ck_assert_int_ge(id, 0);
		ck_assert_int_lt(id, 100);
		ck_assert_uint_eq(seen[id], 0);
		seen[id] = 1;
	}
	ck_assert_uint_eq(atomic_load(&p.used), 100);
	/* bits 100..127 of the last word never come out */
	ck_assert_int_eq(rtrs_permit_get(&p, 0), -1);
	ck_assert_int_eq(rtrs_permit_get(&p, 1), -1);
	rtrs_permit_put(&p, 42);
	ck_assert_int_eq(rtrs_permit_get(&p, 1), 42);
	rtrs_permit_put(&p, 99);
	rtrs_permit_put(&p, 0);
	ck_assert_uint_eq(atomic_load(&p.used), 98);
	rtrs_permits_free(&p);
}
END_TEST

struct permit_race {
	struct rtrs_permits *p;
	_Atomic uint32_t *owner;
	int tid;
	int errors;
};

/* Four threads take and return permits; no permit is ever held twice. */
static void *permit_worker(void *arg)
{
	struct permit_race *r = arg;

	for (int n = 0; n < 200000; n++) {
		int id = rtrs_permit_get(r->p, (uint32_t)r->tid);

		if (id < 0)
			continue;
		if (atomic_exchange(&r->owner[id], (uint32_t)r->tid + 1))
			r->errors++;
		atomic_store(&r->owner[id], 0);
		rtrs_permit_put(r->p, (uint32_t)id);
	}
	return NULL;
}

START_TEST(permits_concurrent)
{
	struct rtrs_permits p;
	_Atomic uint32_t owner[8] = { 0 };
	struct permit_race r[4];
	pthread_t t[4];

	ck_assert_int_eq(rtrs_permits_init(&p, 3), 0);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct permit_race){ .p = &p, .owner = owner, .tid = i };
		pthread_create(&t[i], NULL, permit_worker, &r[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(r[i].errors, 0);
	}
	ck_assert_uint_eq(atomic_load(&p.used), 0);
	rtrs_permits_free(&p);
}
END_TEST

struct count_msg {
	struct rtrs_loop_msg msg;
	_Atomic int *count;
	bool on_loop;
};

static void count_fn(struct rtrs_loop *loop, struct rtrs_loop_msg *m)
{
	struct count_msg *c = (struct count_msg *)m;

	c->on_loop = rtrs_loop_is_current(loop);
	atomic_fetch_add(c->count, 1);
}

struct poster {
	struct rtrs_loop *loop;
	struct count_msg *msgs;
	int n;
};

static void *post_many(void *arg)
{
	struct poster *p = arg;

	for (int i = 0; i < p->n; i++)
		rtrs_loop_post(p->loop, &p->msgs[i].msg);
	return NULL;
}

static int read_count(void *arg)
{
	return atomic_load((_Atomic int *)arg);
}

/* Every message posted from several threads runs once, on the loop. */
START_TEST(loop_mailbox)
{
	enum { THREADS = 4, PER = 20000 };
	struct rtrs_loop loop;
	struct count_msg *msgs = calloc(THREADS * PER, sizeof(*msgs));
	struct poster ps[THREADS];
	pthread_t t[THREADS];
	_Atomic int count = 0;
	int seen = 0;

	ck_assert_int_eq(rtrs_loop_start(&loop, 0, "test", NULL), 0);
	ck_assert(!rtrs_loop_is_current(&loop));
	for (int i = 0; i < THREADS * PER; i++) {
		msgs[i].msg.fn = count_fn;
		msgs[i].count = &count;
	}
	for (int i = 0; i < THREADS; i++) {
		ps[i] = (struct poster){ .loop = &loop, .msgs = msgs + i * PER, .n = PER };
		pthread_create(&t[i], NULL, post_many, &ps[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	/* rtrs_loop_call runs after everything posted before it */
	for (int i = 0; i < 100 && seen != THREADS * PER; i++)
		seen = rtrs_loop_call(&loop, read_count, &count);
	ck_assert_int_eq(seen, THREADS * PER);
	for (int i = 0; i < THREADS * PER; i++)
		ck_assert(msgs[i].on_loop);
	rtrs_loop_stop(&loop);
	free(msgs);
}
END_TEST

struct lockstep {
	struct rtrs_loop *loop;
	pthread_barrier_t *barrier;
	int rounds;
	int stalls;
};

/*
 * Two threads post at the same moment and then post nothing until their
 * message has run: a wake-up lost between them (the mailbox link and
 * uv_async_send's unfenced read of the pending flag, see loop.c) leaves a
 * message queued on a sleeping loop, which nothing else would rescue.
 */
static void *post_lockstep(void *arg)
{
	struct lockstep *ls = arg;
	_Atomic int done = 0;
	struct count_msg m = { .msg.fn = count_fn, .count = &done };

	for (int i = 0; i < ls->rounds; i++) {
		uint64_t deadline;

		pthread_barrier_wait(ls->barrier);
		rtrs_loop_post(ls->loop, &m.msg);
		deadline = rtrs_now_ns() + 2000000000ull;
		while (atomic_load(&done) != i + 1 && rtrs_now_ns() < deadline)
			sched_yield();
		if (atomic_load(&done) != i + 1) {
			ls->stalls++;
			/* another post wakes the loop, so that the run can go on */
			rtrs_loop_call(ls->loop, read_count, (void *)&done);
		}
	}
	return NULL;
}

START_TEST(loop_wakeup_not_lost)
{
	enum { THREADS = 3, ROUNDS = 100000 };
	struct rtrs_loop loop;
	pthread_barrier_t barrier;
	struct lockstep ls[THREADS];
	pthread_t t[THREADS];

	ck_assert_int_eq(rtrs_loop_start(&loop, 0, "test", NULL), 0);
	pthread_barrier_init(&barrier, NULL, THREADS);
	for (int i = 0; i < THREADS; i++) {
		ls[i] = (struct lockstep){ .loop = &loop, .barrier = &barrier, .rounds = ROUNDS };
		pthread_create(&t[i], NULL, post_lockstep, &ls[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++)
		ck_assert_msg(ls[i].stalls == 0, "thread %d: %d messages waited 2 s for a wake-up",
			      i, ls[i].stalls);
	pthread_barrier_destroy(&barrier);
	rtrs_loop_stop(&loop);
}
END_TEST

static Suite *rtrs_core_suite(void)
{
	Suite *s = suite_create("rtrs-core");
	TCase *st = tcase_create("states");
	TCase *mp = tcase_create("multipath");
	TCase *pm = tcase_create("permits");
	TCase *lp = tcase_create("loop");

	tcase_add_test(st, clt_transitions);
	tcase_add_test(st, srv_transitions);
	tcase_add_test(st, names_and_policy_parse);
	tcase_add_test(mp, rr_rotates_and_skips);
	tcase_add_test(mp, min_inflight_and_latency);
	tcase_add_test(pm, permits_exhaust_and_return);
	tcase_add_test(pm, permits_concurrent);
	tcase_set_timeout(pm, 60);
	tcase_add_test(lp, loop_mailbox);
	tcase_add_test(lp, loop_wakeup_not_lost);
	tcase_set_timeout(lp, 60);
	suite_add_tcase(s, st);
	suite_add_tcase(s, mp);
	suite_add_tcase(s, pm);
	suite_add_tcase(s, lp);
	return s;
}

CHECK_MAIN(rtrs_core_suite)
