// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rdma.h"
#include "util/err.h"

static pthread_mutex_t res_lock = PTHREAD_MUTEX_INITIALIZER;
static struct list_head devs = LIST_HEAD_INIT(devs);
static struct list_head paths = LIST_HEAD_INIT(paths);

int rdma_dev_get(struct ibv_context *verbs, struct rdma_dev **out)
{
	struct list_head *pos, *tmp;
	struct rdma_dev *d;
	int ret = 0;

	pthread_mutex_lock(&res_lock);
	list_for_each_safe(pos, tmp, &devs) {
		d = list_entry(pos, struct rdma_dev, link);
		if (d->verbs == verbs) {
			d->refs++;
			*out = d;
			goto out;
		}
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		ret = rnbd_err_set(-ENOMEM, "no memory for an RDMA device");
		goto out;
	}
	if (ibv_query_device(verbs, &d->attr)) {
		ret = rnbd_err_set(-errno, "ibv_query_device(%s): %s",
				   ibv_get_device_name(verbs->device), strerror(errno));
		free(d);
		goto out;
	}
	d->pd = ibv_alloc_pd(verbs);
	if (!d->pd) {
		ret = rnbd_err_set(-ENOMEM, "ibv_alloc_pd(%s) failed",
				   ibv_get_device_name(verbs->device));
		free(d);
		goto out;
	}
	d->verbs = verbs;
	d->refs = 1;
	list_add_tail(&d->link, &devs);
	*out = d;
out:
	pthread_mutex_unlock(&res_lock);
	return ret;
}

void rdma_dev_put(struct rdma_dev *d)
{
	pthread_mutex_lock(&res_lock);
	if (!--d->refs) {
		list_del(&d->link);
		ibv_dealloc_pd(d->pd);
		free(d);
	}
	pthread_mutex_unlock(&res_lock);
}

int rdma_path_get(bool server, const uint8_t uuid[16], uint16_t recon_cnt,
		  struct rdma_path **out)
{
	struct list_head *pos, *tmp;
	struct rdma_path *p;
	int ret = 0;

	pthread_mutex_lock(&res_lock);
	list_for_each_safe(pos, tmp, &paths) {
		p = list_entry(pos, struct rdma_path, link);
		if (p->server == server && p->recon_cnt == recon_cnt && !memcmp(p->uuid, uuid, 16)) {
			p->refs++;
			*out = p;
			goto out;
		}
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		ret = rnbd_err_set(-ENOMEM, "no memory for an RDMA path");
		goto out;
	}
	p->server = server;
	memcpy(p->uuid, uuid, 16);
	p->recon_cnt = recon_cnt;
	p->refs = 1;
	list_add_tail(&p->link, &paths);
	*out = p;
out:
	pthread_mutex_unlock(&res_lock);
	return ret;
}

void rdma_path_put(struct rdma_path *p)
{
	pthread_mutex_lock(&res_lock);
	if (--p->refs) {
		pthread_mutex_unlock(&res_lock);
		return;
	}
	list_del(&p->link);
	pthread_mutex_unlock(&res_lock);
	if (p->mr)
		ibv_dereg_mr(p->mr);
	if (p->dev)
		rdma_dev_put(p->dev);
	free(p->region);
	free(p->raddr);
	free((void *)p->rkey);
	free(p);
}

static int path_alloc(struct rdma_path *p, struct rdma_dev *dev, uint32_t queue_depth,
		      uint32_t chunk_size)
{
	size_t len = (size_t)queue_depth * chunk_size;

	/* page aligned: O_DIRECT backends read and write chunks in place */
	p->region = aligned_alloc(4096, (len + 4095) & ~(size_t)4095);
	if (!p->region)
		return rnbd_err_set(-ENOMEM, "no memory for %u chunks of %u bytes", queue_depth,
				    chunk_size);
	memset(p->region, 0, len);
	p->mr = ibv_reg_mr(dev->pd, p->region, len,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	if (!p->mr)
		return rnbd_err_set(-errno ? -errno : -ENOMEM, "ibv_reg_mr of %zu bytes: %s", len,
				    strerror(errno ? errno : ENOMEM));
	if (!p->server) {
		p->raddr = calloc(queue_depth, sizeof(*p->raddr));
		p->rkey = calloc(queue_depth, sizeof(*p->rkey));
		if (!p->raddr || !p->rkey)
			return rnbd_err_set(-ENOMEM, "no memory for %u remote chunks", queue_depth);
	}
	p->region_len = len;
	return 0;
}

int rdma_path_setup(struct rdma_path *p, struct rdma_dev *dev, uint32_t queue_depth,
		    uint32_t chunk_size)
{
	int ret = 0;

	pthread_mutex_lock(&res_lock);
	if (p->dev) {
		if (p->dev != dev)
			ret = rnbd_err_set(-EINVAL, "connections of one path on two RDMA devices");
		else if (p->queue_depth != queue_depth || p->chunk_size != chunk_size)
			ret = rnbd_err_set(-EINVAL, "connections of one path with other limits");
		goto out;
	}
	ret = path_alloc(p, dev, queue_depth, chunk_size);
	if (ret) {
		if (p->mr)
			ibv_dereg_mr(p->mr);
		free(p->region);
		free(p->raddr);
		free((void *)p->rkey);
		p->mr = NULL;
		p->region = NULL;
		p->raddr = NULL;
		p->rkey = NULL;
		goto out;
	}
	p->dev = dev;
	dev->refs++;
	p->queue_depth = queue_depth;
	p->chunk_size = chunk_size;
out:
	pthread_mutex_unlock(&res_lock);
	return ret;
}
