/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the connections of the RDMA transport share (rdma-res.c): one
 * protection domain per device, and per path its memory — the server's
 * chunks, or the client's per-permit slots and the table of the server's
 * chunks — registered once for all of the path's connections.
 */
#ifndef RNBD_TRANSPORT_RDMA_H
#define RNBD_TRANSPORT_RDMA_H

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/list.h"

struct rdma_dev {
	struct list_head link;
	struct ibv_context *verbs;
	struct ibv_pd *pd;
	struct ibv_device_attr attr;
	unsigned int refs;
};

/* The device of verbs with its PD, made on first use. */
int rdma_dev_get(struct ibv_context *verbs, struct rdma_dev **out);
void rdma_dev_put(struct rdma_dev *d);

/*
 * One incarnation of a path: its uuid and the recon_cnt of the connect
 * that made it, so that a reconnect never meets the memory of the
 * connections it replaces.
 */
struct rdma_path {
	struct list_head link;
	bool server;
	uint8_t uuid[16];
	uint16_t recon_cnt;
	unsigned int refs;

	struct rdma_dev *dev;		/* set by rdma_path_setup() */
	uint32_t queue_depth;
	uint32_t chunk_size;		/* max_io_size + max_hdr_size */
	uint8_t *region;		/* queue_depth * chunk_size, registered */
	size_t region_len;
	struct ibv_mr *mr;

	/* client: the server's chunk k, learnt from cid 0's info_rsp */
	uint64_t *raddr;
	_Atomic uint32_t *rkey;		/* changed by RKEY_RSP in NEW_RKEY mode */
	bool new_rkey;
	bool have_chunks;
};

/* Find or make the path (server: by its sess_uuid) and take a reference. */
int rdma_path_get(bool server, const uint8_t uuid[16], uint16_t recon_cnt,
		  struct rdma_path **out);
void rdma_path_put(struct rdma_path *p);

/*
 * The path's memory on dev, queue_depth slots of chunk_size bytes, made by
 * the first connection and checked by the others: a second connection on
 * another device or with other limits is refused.
 */
int rdma_path_setup(struct rdma_path *p, struct rdma_dev *dev, uint32_t queue_depth,
		    uint32_t chunk_size);

static inline uint8_t *rdma_path_slot(const struct rdma_path *p, uint32_t id)
{
	return p->region + (size_t)id * p->chunk_size;
}

#endif
