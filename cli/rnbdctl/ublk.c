// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ublk (linux/ublk_cmd.h), with the command codes every ublk_drv since 6.0
 * accepts.  The control device takes ADD_DEV, SET_PARAMS, START_DEV,
 * STOP_DEV and DEL_DEV as 128-byte io_uring commands; each queue thread
 * keeps a FETCH_REQ outstanding per tag, and answers a request it fetched
 * with COMMIT_AND_FETCH_REQ once librnbd has completed it.  librnbd
 * completes on its own threads: they push the request onto the queue's
 * done list and wake the queue thread through an eventfd that its ring
 * reads.  Data is copied by the kernel to and from a buffer per tag.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/ublk_cmd.h>
#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rnbdctl.h"
#include "ublk.h"

#define CTRL_DEV	"/dev/ublk-control"
#define QUEUE_DEPTH	128
#define MAX_IO		(512u << 10)
#define EFD_TAG		UINT64_MAX
#define NODE_WAIT_MS	5000

struct ublk_queue;

struct ublk_req {
	struct rnbd_io io;
	struct iovec iov;
	struct ublk_queue *q;
	uint16_t tag;
	int res;
	struct ublk_req *next_done;
};

struct ublk_queue {
	struct ublkdev *u;
	uint16_t q_id;
	struct io_uring ring;
	pthread_t thread;
	bool thread_started;
	struct ublksrv_io_desc *descs;
	size_t descs_len;
	uint8_t *bufs;
	struct ublk_req *reqs;
	int efd;
	uint64_t efd_val;
	_Atomic(struct ublk_req *) done;
	unsigned int aborted;		/* tags whose fetch the kernel cancelled */
	int ready;			/* 0 waiting, 1 fetches submitted, < 0 failed */
};

struct ublkdev {
	int ctrl_fd;
	struct io_uring ctrl;
	int cdev_fd;
	struct ublksrv_ctrl_dev_info info;
	struct rnbd_dev *dev;
	struct ublk_queue q;		/* one queue: librnbd spreads I/O itself */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool added, started;
};

bool ublk_available(void)
{
	pid_t pid;
	int st;

	if (!access(CTRL_DEV, F_OK))
		return true;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execlp("modprobe", "modprobe", "ublk_drv", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return false;
	for (int i = 0; i < 100 && access(CTRL_DEV, F_OK); i++)
		usleep(10000);
	return !access(CTRL_DEV, F_OK);
}

/* One control command, waited for: its result. */
static int ctrl_cmd(struct ublkdev *u, uint32_t op, uint32_t dev_id, void *buf, uint16_t len,
		    uint64_t data0)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ctrl);
	struct ublksrv_ctrl_cmd *cmd;
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -EBUSY;
	memset(sqe, 0, 2 * sizeof(*sqe));	/* an SQE128 */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = u->ctrl_fd;
	sqe->cmd_op = op;
	cmd = (struct ublksrv_ctrl_cmd *)sqe->cmd;
	cmd->dev_id = dev_id;
	cmd->queue_id = (uint16_t)-1;
	cmd->addr = (uintptr_t)buf;
	cmd->len = len;
	cmd->data[0] = data0;
	ret = io_uring_submit_and_wait(&u->ctrl, 1);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(&u->ctrl, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&u->ctrl, cqe);
	return ret;
}

static unsigned int shift_of(uint32_t v)
{
	unsigned int s = 0;

	while ((1u << s) < v)
		s++;
	return s;
}

static int set_params(struct ublkdev *u, const struct rnbd_dev_info *di, bool readonly)
{
	struct ublk_params p = {
		.len = sizeof(p),
		.types = UBLK_PARAM_TYPE_BASIC,
		.basic = {
			.logical_bs_shift = (uint8_t)shift_of(di->logical_block_size),
			.physical_bs_shift = (uint8_t)shift_of(di->physical_block_size),
			.io_min_shift = (uint8_t)shift_of(di->logical_block_size),
			.io_opt_shift = 12,
			.max_sectors = MAX_IO >> 9,
			.dev_sectors = di->size >> 9,
		},
	};

	if (readonly)
		p.basic.attrs |= UBLK_ATTR_READ_ONLY;
	if (di->write_cache)
		p.basic.attrs |= UBLK_ATTR_VOLATILE_CACHE;
	if (di->fua)
		p.basic.attrs |= UBLK_ATTR_FUA;
	if (di->max_discard_sectors || di->max_write_zeroes_sectors) {
		p.types |= UBLK_PARAM_TYPE_DISCARD;
		p.discard.discard_granularity = di->discard_granularity ? di->discard_granularity :
									  di->logical_block_size;
		p.discard.max_discard_sectors = di->max_discard_sectors;
		p.discard.max_write_zeroes_sectors = di->max_write_zeroes_sectors;
		p.discard.max_discard_segments = 1;
	}
	return ctrl_cmd(u, UBLK_CMD_SET_PARAMS, u->info.dev_id, &p, sizeof(p), 0);
}

/* ---- the queue thread ---- */

/* The ring has room for every tag and the eventfd read; should it fill
 * anyway, what it holds goes to the kernel first. */
static struct io_uring_sqe *get_sqe(struct ublk_queue *q)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&q->ring)))
		io_uring_submit(&q->ring);
	return sqe;
}

static void io_cmd(struct ublk_queue *q, uint32_t op, uint16_t tag, int result)
{
	struct io_uring_sqe *sqe = get_sqe(q);
	struct ublksrv_io_cmd *cmd;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = q->u->cdev_fd;
	sqe->cmd_op = op;
	sqe->user_data = tag;
	cmd = (struct ublksrv_io_cmd *)sqe->cmd;
	cmd->q_id = q->q_id;
	cmd->tag = tag;
	cmd->result = result;
	cmd->addr = (uintptr_t)(q->bufs + (size_t)tag * MAX_IO);
}

static void arm_efd(struct ublk_queue *q)
{
	struct io_uring_sqe *sqe = get_sqe(q);

	io_uring_prep_read(sqe, q->efd, &q->efd_val, sizeof(q->efd_val), 0);
	sqe->user_data = EFD_TAG;
}

/* librnbd's thread: hand the result to the queue thread. */
static void req_done(struct rnbd_io *io, int err)
{
	struct ublk_req *r = (struct ublk_req *)((char *)io - offsetof(struct ublk_req, io));
	struct ublk_queue *q = r->q;
	uint64_t one = 1;

	r->res = err ? err : io->op == RNBD_OP_READ || io->op == RNBD_OP_WRITE ? (int)io->len : 0;
	r->next_done = atomic_load_explicit(&q->done, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&q->done, &r->next_done, r,
						      memory_order_release, memory_order_relaxed))
		;
	if (write(q->efd, &one, sizeof(one)) < 0)
		abort();	/* an eventfd write cannot fail short of a bug */
}

/* A request the kernel fetched for tag: to librnbd, or answered at once. */
static void req_start(struct ublk_queue *q, uint16_t tag)
{
	const struct ublksrv_io_desc *iod = &q->descs[tag];
	struct ublk_req *r = &q->reqs[tag];
	uint32_t flags = ublksrv_get_flags(iod) << 8;
	uint64_t len = (uint64_t)iod->nr_sectors << 9;
	int ret;

	memset(&r->io, 0, sizeof(r->io));
	r->io.offset = iod->start_sector << 9;
	r->io.len = len;
	r->io.done = req_done;
	r->iov = (struct iovec){ q->bufs + (size_t)tag * MAX_IO, len };
	switch (ublksrv_get_op(iod)) {
	case UBLK_IO_OP_READ:
		r->io.op = RNBD_OP_READ;
		break;
	case UBLK_IO_OP_WRITE:
		r->io.op = RNBD_OP_WRITE;
		r->io.flags = flags & UBLK_IO_F_FUA ? RNBD_F_FUA : 0;
		break;
	case UBLK_IO_OP_FLUSH:
		r->io.op = RNBD_OP_FLUSH;
		break;
	case UBLK_IO_OP_DISCARD:
		r->io.op = RNBD_OP_DISCARD;
		break;
	case UBLK_IO_OP_WRITE_ZEROES:
		r->io.op = RNBD_OP_WRITE_ZEROES;
		r->io.flags = flags & UBLK_IO_F_NOUNMAP ? RNBD_F_NOUNMAP : 0;
		break;
	default:
		io_cmd(q, UBLK_IO_COMMIT_AND_FETCH_REQ, tag, -EOPNOTSUPP);
		return;
	}
	if (r->io.op == RNBD_OP_READ || r->io.op == RNBD_OP_WRITE) {
		if (len > MAX_IO) {
			io_cmd(q, UBLK_IO_COMMIT_AND_FETCH_REQ, tag, -EIO);
			return;
		}
		r->io.iov = &r->iov;
		r->io.iovcnt = 1;
	}
	ret = rnbd_dev_submit(q->u->dev, &r->io);
	if (ret)
		io_cmd(q, UBLK_IO_COMMIT_AND_FETCH_REQ, tag, ret);
}

static void commit_done(struct ublk_queue *q)
{
	struct ublk_req *r = atomic_exchange_explicit(&q->done, NULL, memory_order_acquire);

	while (r) {
		struct ublk_req *next = r->next_done;

		io_cmd(q, UBLK_IO_COMMIT_AND_FETCH_REQ, r->tag, r->res);
		r = next;
	}
}

static void queue_ready(struct ublk_queue *q, int state)
{
	pthread_mutex_lock(&q->u->lock);
	q->ready = state;
	pthread_cond_broadcast(&q->u->cond);
	pthread_mutex_unlock(&q->u->lock);
}

static void *queue_thread(void *arg)
{
	struct ublk_queue *q = arg;
	unsigned int depth = q->u->info.queue_depth;
	int ret;

	for (uint16_t tag = 0; tag < depth; tag++)
		io_cmd(q, UBLK_IO_FETCH_REQ, tag, -1);
	arm_efd(q);
	ret = io_uring_submit(&q->ring);
	queue_ready(q, ret < 0 ? ret : 1);
	if (ret < 0)
		return NULL;
	/* until STOP_DEV has cancelled the fetch of every tag */
	while (q->aborted < depth) {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;

		ret = io_uring_submit_and_wait(&q->ring, 1);
		if (ret < 0 && ret != -EINTR)
			break;
		io_uring_for_each_cqe(&q->ring, head, cqe) {
			n++;
			if (cqe->user_data == EFD_TAG) {
				commit_done(q);
				arm_efd(q);
			} else if (cqe->res == UBLK_IO_RES_OK) {
				req_start(q, (uint16_t)cqe->user_data);
			} else {
				/* UBLK_IO_RES_ABORT, or the device going away */
				q->aborted++;
			}
		}
		io_uring_cq_advance(&q->ring, n);
	}
	return NULL;
}

/* ---- the device ---- */

static int queue_setup(struct ublkdev *u)
{
	struct ublk_queue *q = &u->q;
	unsigned int depth = u->info.queue_depth;
	size_t max_cmd_buf = ((size_t)UBLK_MAX_QUEUE_DEPTH * sizeof(struct ublksrv_io_desc) + 4095) & ~(size_t)4095;
	int ret;

	q->u = u;
	q->q_id = 0;
	q->efd = eventfd(0, EFD_CLOEXEC);
	if (q->efd < 0)
		return -errno;
	q->descs_len = (depth * sizeof(struct ublksrv_io_desc) + 4095) & ~(size_t)4095;
	q->descs = mmap(NULL, q->descs_len, PROT_READ, MAP_SHARED | MAP_POPULATE, u->cdev_fd,
			UBLKSRV_CMD_BUF_OFFSET + q->q_id * max_cmd_buf);
	if (q->descs == MAP_FAILED) {
		q->descs = NULL;
		return -errno;
	}
	q->bufs = aligned_alloc(4096, (size_t)depth * MAX_IO);
	q->reqs = calloc(depth, sizeof(*q->reqs));
	if (!q->bufs || !q->reqs)
		return -ENOMEM;
	for (unsigned int t = 0; t < depth; t++) {
		q->reqs[t].q = q;
		q->reqs[t].tag = (uint16_t)t;
	}
	ret = io_uring_queue_init(2 * depth + 2, &q->ring, 0);
	if (ret)
		return ret;
	ret = pthread_create(&q->thread, NULL, queue_thread, q);
	if (ret) {
		io_uring_queue_exit(&q->ring);
		return -ret;
	}
	q->thread_started = true;
	pthread_mutex_lock(&u->lock);
	while (!q->ready)
		pthread_cond_wait(&u->cond, &u->lock);
	pthread_mutex_unlock(&u->lock);
	return q->ready < 0 ? q->ready : 0;
}

static void queue_free(struct ublk_queue *q)
{
	if (q->thread_started) {
		pthread_join(q->thread, NULL);
		io_uring_queue_exit(&q->ring);
	}
	if (q->descs)
		munmap(q->descs, q->descs_len);
	if (q->efd >= 0)
		close(q->efd);
	free(q->bufs);
	free(q->reqs);
}

static int wait_node(const char *node)
{
	for (int i = 0; i < NODE_WAIT_MS / 10; i++) {
		if (!access(node, F_OK))
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

void ublkdev_del(struct ublkdev *u)
{
	if (u->started)
		ctrl_cmd(u, UBLK_CMD_STOP_DEV, u->info.dev_id, NULL, 0, 0);
	else if (u->q.thread_started)
		/* never started: STOP_DEV does not cancel the fetches, closing does */
		ctrl_cmd(u, UBLK_CMD_STOP_DEV, u->info.dev_id, NULL, 0, 0);
	queue_free(&u->q);
	if (u->cdev_fd >= 0)
		close(u->cdev_fd);
	/* DEL_DEV waits until the char device is released: after the close */
	if (u->added)
		ctrl_cmd(u, UBLK_CMD_DEL_DEV, u->info.dev_id, NULL, 0, 0);
	io_uring_queue_exit(&u->ctrl);
	close(u->ctrl_fd);
	pthread_mutex_destroy(&u->lock);
	pthread_cond_destroy(&u->cond);
	free(u);
}

int ublkdev_add(struct rnbd_dev *dev, bool readonly, struct ublkdev **out, char *node,
		size_t len)
{
	struct ublkdev *u = calloc(1, sizeof(*u));
	struct rnbd_dev_info di;
	char cdev[64];
	int ret;

	if (!u)
		return rnbdctl_err(-ENOMEM, "out of memory");
	u->dev = dev;
	u->cdev_fd = -1;
	u->q.efd = -1;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	rnbd_dev_get_info(dev, &di);
	u->ctrl_fd = open(CTRL_DEV, O_RDWR | O_CLOEXEC);
	if (u->ctrl_fd < 0) {
		ret = rnbdctl_err(-errno, "%s: %s", CTRL_DEV, strerror(errno));
		free(u);
		return ret;
	}
	ret = io_uring_queue_init(4, &u->ctrl, IORING_SETUP_SQE128);
	if (ret) {
		close(u->ctrl_fd);
		free(u);
		return rnbdctl_err(ret, "io_uring with 128-byte entries: %s", strerror(-ret));
	}
	u->info = (struct ublksrv_ctrl_dev_info){
		.nr_hw_queues = 1,
		.queue_depth = QUEUE_DEPTH,
		.max_io_buf_bytes = MAX_IO,
		.dev_id = (uint32_t)-1,
		.ublksrv_pid = getpid(),
	};
	ret = ctrl_cmd(u, UBLK_CMD_ADD_DEV, (uint32_t)-1, &u->info, sizeof(u->info), 0);
	if (ret) {
		rnbdctl_err(ret, "ublk ADD_DEV: %s", strerror(-ret));
		goto fail;
	}
	u->added = true;
	ret = set_params(u, &di, readonly);
	if (ret) {
		rnbdctl_err(ret, "ublk SET_PARAMS: %s", strerror(-ret));
		goto fail;
	}
	snprintf(cdev, sizeof(cdev), "/dev/ublkc%u", u->info.dev_id);
	if (wait_node(cdev) || (u->cdev_fd = open(cdev, O_RDWR | O_CLOEXEC)) < 0) {
		ret = rnbdctl_err(-errno ? -errno : -ETIMEDOUT, "%s: %s", cdev,
				  strerror(errno ? errno : ETIMEDOUT));
		goto fail;
	}
	ret = queue_setup(u);
	if (ret) {
		rnbdctl_err(ret, "ublk queue: %s", strerror(-ret));
		goto fail;
	}
	/* returns once the kernel saw every tag's fetch and added the disk */
	ret = ctrl_cmd(u, UBLK_CMD_START_DEV, u->info.dev_id, NULL, 0, (uint64_t)getpid());
	if (ret) {
		rnbdctl_err(ret, "ublk START_DEV: %s", strerror(-ret));
		goto fail;
	}
	u->started = true;
	snprintf(node, len, "/dev/ublkb%u", u->info.dev_id);
	ret = wait_node(node);
	if (ret) {
		rnbdctl_err(ret, "%s did not appear", node);
		goto fail;
	}
	*out = u;
	return 0;
fail:
	ublkdev_del(u);
	return ret;
}
