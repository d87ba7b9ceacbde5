// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The "memory" backend: a sparse disk in this process.
 *
 * Storage is 64 KiB chunks allocated on first write, found through a two
 * level table: a fixed first level (4096 pointers for 1 TiB) to second-level
 * tables of 4096 chunk pointers (256 MiB each) that appear on first write
 * into their range.  An export nobody writes to costs 32 KiB.
 *
 * Locking: a chunk pointer and the chunk's bytes are guarded by one of
 * MEM_STRIPES rwlocks, chosen by chunk index.  Readers share it; writers,
 * zeroing and freeing (discard) take it exclusively, so a discard can never
 * free a chunk under a reader's memcpy, and two writers never race on the
 * same bytes.  A bio holds at most one stripe at a time (chunk by chunk), so
 * there is no lock order to get wrong; like a real disk, a bio spanning
 * chunks is not atomic as a whole.  Second-level tables are installed with a
 * compare-and-swap and only freed at close.
 *
 * Reads can be answered from the chunks themselves (rnbd_bdev_lend): each
 * chunk counts its references, one for the table and one per piece lent,
 * and whoever drops the last frees it, so a discard or a close never frees
 * memory a response is still being sent from.  A write into a lent chunk
 * changes what that response sends, as it would change what a disk returns
 * to a read running at the same time.
 */
#include <errno.h>
#include <stdalign.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "rnbd/rnbd-proto.h"
#include "bdev-impl.h"
#include "rtrs/transport.h"
#include "util/err.h"

#define MEM_CHUNK_SHIFT	16
#define MEM_CHUNK	(1u << MEM_CHUNK_SHIFT)
#define MEM_L2_SHIFT	12
#define MEM_L2_ENTRIES	(1u << MEM_L2_SHIFT)
#define MEM_STRIPES	256
/* Big enough that mkfs/blkdiscard send few requests, and it fits bio->len. */
#define MEM_MAX_ZERO_SECTORS	(1u << (30 - 9))

/* One rwlock per cache line, so stripes do not bounce each other's lines. */
struct mem_stripe {
	union {
		pthread_rwlock_t lock;
		char pad[(sizeof(pthread_rwlock_t) + 63) & ~(size_t)63];
	};
};

struct mem_chunk {
	_Atomic uint32_t refs;
	alignas(64) uint8_t data[MEM_CHUNK];
};

typedef struct mem_chunk *mem_l2_t[MEM_L2_ENTRIES];

/* What a hole reads as, lent like a chunk but never counted. */
static const uint8_t mem_zeroes[MEM_CHUNK];

struct mem_bdev {
	struct rnbd_bdev b;
	uint64_t nr_chunks;
	size_t nr_l1;
	_Atomic(mem_l2_t *) *l1;
	struct mem_stripe stripe[MEM_STRIPES];
};

enum mem_act {
	MEM_READ,
	MEM_WRITE,
	MEM_ZERO,	/* in place, allocating as a write would */
	MEM_UNMAP,	/* free what is wholly covered, zero the rest */
	MEM_ERASE,	/* as UNMAP, and wipe freed chunks first */
};

static pthread_rwlock_t *stripe_of(struct mem_bdev *m, uint64_t c)
{
	return &m->stripe[c % MEM_STRIPES].lock;
}

static mem_l2_t *l2_of(struct mem_bdev *m, uint64_t c)
{
	return atomic_load_explicit(&m->l1[c >> MEM_L2_SHIFT], memory_order_acquire);
}

static mem_l2_t *l2_get(struct mem_bdev *m, uint64_t c)
{
	mem_l2_t *l2 = l2_of(m, c), *fresh;

	if (l2)
		return l2;
	fresh = calloc(1, sizeof(*fresh));
	if (!fresh)
		return NULL;
	l2 = NULL;
	if (atomic_compare_exchange_strong_explicit(&m->l1[c >> MEM_L2_SHIFT], &l2, fresh,
						    memory_order_acq_rel, memory_order_acquire))
		return fresh;
	free(fresh);	/* another thread won; l2 now holds its table */
	return l2;
}

/* Bytes of chunk c inside the device: the last one may be short. */
static uint32_t chunk_bytes(const struct mem_bdev *m, uint64_t c)
{
	uint64_t left = m->b.info.size - (c << MEM_CHUNK_SHIFT);

	return left < MEM_CHUNK ? (uint32_t)left : MEM_CHUNK;
}

static void chunk_put(struct mem_chunk *ch)
{
	if (atomic_fetch_sub_explicit(&ch->refs, 1, memory_order_acq_rel) == 1)
		free(ch);
}

static void chunk_put_lent(void *ref)
{
	chunk_put(ref);
}

/* Under the stripe lock of c, exclusively. */
static struct mem_chunk *chunk_get(struct mem_bdev *m, uint64_t c)
{
	mem_l2_t *l2 = l2_get(m, c);
	struct mem_chunk **slot;

	if (!l2)
		return NULL;
	slot = &(*l2)[c & (MEM_L2_ENTRIES - 1)];
	if (!*slot) {
		*slot = calloc(1, sizeof(**slot));
		if (*slot)
			atomic_init(&(*slot)->refs, 1);
	}
	return *slot;
}

/* Under the stripe lock of c, shared or exclusive. */
static struct mem_chunk *chunk_find(struct mem_bdev *m, uint64_t c)
{
	mem_l2_t *l2 = l2_of(m, c);

	return l2 ? (*l2)[c & (MEM_L2_ENTRIES - 1)] : NULL;
}

static int chunk_io(struct mem_bdev *m, enum mem_act act, uint64_t c, uint32_t off, uint32_t n,
		    uint8_t *buf)
{
	pthread_rwlock_t *lock = stripe_of(m, c);
	mem_l2_t *l2;
	struct mem_chunk **slot, *ch;
	int err = 0;

	if (act == MEM_READ) {
		pthread_rwlock_rdlock(lock);
		ch = chunk_find(m, c);
		memcpy(buf, ch ? ch->data + off : mem_zeroes, n);
		pthread_rwlock_unlock(lock);
		return 0;
	}

	pthread_rwlock_wrlock(lock);
	switch (act) {
	case MEM_WRITE:
	case MEM_ZERO:
		ch = chunk_get(m, c);
		if (!ch) {
			err = -ENOMEM;
			break;
		}
		if (act == MEM_WRITE)
			memcpy(ch->data + off, buf, n);
		else
			memset(ch->data + off, 0, n);
		break;
	default:
		l2 = l2_of(m, c);
		if (!l2)
			break;
		slot = &(*l2)[c & (MEM_L2_ENTRIES - 1)];
		if (!*slot)
			break;
		if (off || n != chunk_bytes(m, c)) {
			memset((*slot)->data + off, 0, n);
			break;
		}
		/* wiped now, even if a response still holds it */
		if (act == MEM_ERASE)
			explicit_bzero((*slot)->data, MEM_CHUNK);
		chunk_put(*slot);
		*slot = NULL;
		break;
	}
	pthread_rwlock_unlock(lock);
	return err;
}

/* buf: source or destination of READ/WRITE, NULL for the zeroing acts. */
static int mem_walk(struct mem_bdev *m, enum mem_act act, uint64_t pos, uint32_t left, uint8_t *buf)
{
	int err;

	while (left) {
		uint64_t c = pos >> MEM_CHUNK_SHIFT;
		uint32_t off = pos & (MEM_CHUNK - 1);
		uint32_t n = chunk_bytes(m, c) - off;

		if (n > left)
			n = left;
		err = chunk_io(m, act, c, off, n, buf);
		if (err)
			return err;
		pos += n;
		left -= n;
		if (buf)
			buf += n;
	}
	return 0;
}

static enum mem_act act_of(const struct rnbd_bio *bio)
{
	switch (bio->op) {
	case RNBD_OP_READ:
		return MEM_READ;
	case RNBD_OP_WRITE:
		return MEM_WRITE;
	case RNBD_OP_WRITE_ZEROES:
		return bio->flags & RNBD_F_NOUNMAP ? MEM_ZERO : MEM_UNMAP;
	case RNBD_OP_SECURE_ERASE:
		/* the bytes must not linger in freed heap memory either */
		return MEM_ERASE;
	default:
		return MEM_UNMAP;
	}
}

static int mem_submit(struct rnbd_bdev *b, struct rnbd_bio *bio)
{
	struct mem_bdev *m = container_of(b, struct mem_bdev, b);
	enum mem_act act = act_of(bio);
	int err = 0;

	/* FLUSH and FUA: nothing volatile sits between us and the memory. */
	if (bio->op != RNBD_OP_FLUSH)
		err = mem_walk(m, act, bio->offset, bio->len,
			       act <= MEM_WRITE ? bio->buf : NULL);
	bio->done(bio, err);
	return 0;
}

static int mem_lend(struct rnbd_bdev *b, uint64_t pos, uint32_t left, struct rtrs_lend *l)
{
	struct mem_bdev *m = container_of(b, struct mem_bdev, b);

	if (left && ((pos + left - 1) >> MEM_CHUNK_SHIFT) - (pos >> MEM_CHUNK_SHIFT) >=
		    RTRS_LEND_SEGS)
		return rnbd_err_set(-E2BIG, "a read of more than %u chunks cannot be lent",
				    RTRS_LEND_SEGS);
	l->nseg = 0;
	l->put = chunk_put_lent;
	while (left) {
		uint64_t c = pos >> MEM_CHUNK_SHIFT;
		uint32_t off = pos & (MEM_CHUNK - 1);
		uint32_t n = chunk_bytes(m, c) - off;
		pthread_rwlock_t *lock = stripe_of(m, c);
		struct mem_chunk *ch;

		if (n > left)
			n = left;
		pthread_rwlock_rdlock(lock);
		ch = chunk_find(m, c);
		if (ch)
			atomic_fetch_add_explicit(&ch->refs, 1, memory_order_relaxed);
		pthread_rwlock_unlock(lock);
		l->seg[l->nseg++] = (struct rtrs_lend_seg){
			.base = ch ? ch->data + off : mem_zeroes,
			.len = n,
			.ref = ch,
		};
		pos += n;
		left -= n;
	}
	return 0;
}

static void mem_close(struct rnbd_bdev *b)
{
	struct mem_bdev *m = container_of(b, struct mem_bdev, b);

	for (size_t i = 0; i < m->nr_l1; i++) {
		mem_l2_t *l2 = atomic_load_explicit(&m->l1[i], memory_order_acquire);

		if (!l2)
			continue;
		for (size_t j = 0; j < MEM_L2_ENTRIES; j++)
			if ((*l2)[j])
				chunk_put((*l2)[j]);
		free(l2);
	}
	for (size_t i = 0; i < MEM_STRIPES; i++)
		pthread_rwlock_destroy(&m->stripe[i].lock);
	free(m->l1);
	free(m);
}

static const struct rnbd_bdev_ops mem_ops = {
	.submit = mem_submit,
	.close = mem_close,
	.lend = mem_lend,
};

int rnbd_bdev_memory_open(const struct rnbd_bdev_conf *conf, struct rnbd_bdev **out)
{
	struct rnbd_bdev_info *info;
	pthread_rwlockattr_t attr;
	struct mem_bdev *m;

	if (!conf->size || conf->size > RNBD_BDEV_MEMORY_MAX || conf->size % 4096)
		return rnbd_err_set(-EINVAL,
				    "memory backend size %llu: must be a non-zero multiple of 4096 "
				    "up to 1 TiB", (unsigned long long)conf->size);
	m = calloc(1, sizeof(*m));
	if (!m)
		return rnbd_err_set(-ENOMEM, "memory backend: out of memory");
	m->nr_chunks = (conf->size + MEM_CHUNK - 1) >> MEM_CHUNK_SHIFT;
	m->nr_l1 = (m->nr_chunks + MEM_L2_ENTRIES - 1) >> MEM_L2_SHIFT;
	m->l1 = calloc(m->nr_l1, sizeof(*m->l1));
	if (!m->l1) {
		free(m);
		return rnbd_err_set(-ENOMEM, "memory backend: out of memory");
	}
	/* A stream of readers must not starve a discard. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	for (size_t i = 0; i < MEM_STRIPES; i++)
		pthread_rwlock_init(&m->stripe[i].lock, &attr);
	pthread_rwlockattr_destroy(&attr);

	m->b.ops = &mem_ops;
	m->b.type = RNBD_BDEV_MEMORY;
	m->b.engine = conf->engine;
	info = &m->b.info;
	info->size = conf->size;
	info->logical_block_size = 512;
	info->physical_block_size = 4096;
	info->max_hw_sectors = 2048;
	info->max_discard_sectors = MEM_MAX_ZERO_SECTORS;
	info->discard_granularity = 4096;
	info->max_write_zeroes_sectors = MEM_MAX_ZERO_SECTORS;
	info->secure_erase = true;
	info->readonly = conf->readonly;
	*out = &m->b;
	return 0;
}
