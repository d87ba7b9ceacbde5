/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The io_uring ring of one loop thread (internal to the backends).
 *
 * SQEs are queued as bios arrive and handed to the kernel once per loop
 * iteration (and when the SQ fills up); completions are reaped on the loop
 * when the ring's eventfd turns readable, and go to the bio's backend
 * (bio->bdev->ops->uring_cqe).  A bio that finds no room is parked and
 * re-issued (bio->bdev->ops->uring_issue) when room frees up.
 */
#ifndef RNBD_SERVER_URING_H
#define RNBD_SERVER_URING_H

#include <liburing.h>
#include <uv.h>

struct rnbd_bio;
struct rnbd_uring;

/* Most SQEs one issue of a bio takes (a flush linked to a write). */
#define RNBD_URING_MAX_SQES 2

/* On the loop thread.  0 also when io_uring is unavailable (then there is no ring). */
int rnbd_uring_init(uv_loop_t *loop);
/* Completes what is in flight, then releases the ring; the loop must run on. */
void rnbd_uring_fini(void);

/* The calling thread's ring, or NULL. */
struct rnbd_uring *rnbd_uring_current(void);
uv_loop_t *rnbd_uring_loop(const struct rnbd_uring *r);

/*
 * n SQEs for one bio, which the caller must all prepare now (linked in
 * order with IOSQE_IO_LINK if need be), each tagged with
 * rnbd_uring_set_data().  -EBUSY: no room (or bios are already parked,
 * which go first); park the bio instead.
 */
int rnbd_uring_get_sqes(struct rnbd_uring *r, struct io_uring_sqe **sqe, unsigned int n);
/* tag: 0..7, handed back to uring_cqe to tell a bio's SQEs apart. */
void rnbd_uring_set_data(struct io_uring_sqe *sqe, struct rnbd_bio *bio, unsigned int tag);
void rnbd_uring_park(struct rnbd_uring *r, struct rnbd_bio *bio);

#endif
