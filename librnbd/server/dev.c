// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Devices of the RNBD server: from an OPEN name to a backend shared by all
 * sessions that opened the same storage, with the kernel's access rules
 * (rnbd-wire.md 5.3): any number of readers, one writer, or two when
 * migration is asked for.  Everything here runs under srv->lock.
 */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "resolve.h"
#include "srv.h"
#include "util/err.h"
#include "util/log.h"

static const char *mode_str(uint8_t mode)
{
	static const char *const names[] = { "ro", "rw", "migration" };

	return mode <= RNBD_ACCESS_MIGRATION ? names[mode] : "invalid";
}

int srv_rules_check(const struct srv_conf *conf, const char *sessname, const char *dev_name,
		    uint8_t mode)
{
	for (unsigned int i = 0; i < conf->nrules; i++) {
		const struct srv_rule *r = &conf->rules[i];

		if (fnmatch(r->sessions, sessname, 0) || fnmatch(r->devices, dev_name, 0))
			continue;
		if (r->max_mode < 0)
			return rnbd_err_set(-EPERM, "session %s may not open %s", sessname,
					    dev_name);
		if (mode > r->max_mode)
			return rnbd_err_set(-EPERM, "session %s may open %s %s at most, not %s",
					    sessname, dev_name, mode_str(r->max_mode),
					    mode_str(mode));
		return 0;
	}
	return 0;
}

int srv_access_check(struct rnbd_srv_dev *dev, uint8_t mode)
{
	if (mode == RNBD_ACCESS_RO)
		return 0;
	if (dev->info->readonly)
		return rnbd_err_set(-EACCES, "%s is read-only", dev->path);
	if (mode == RNBD_ACCESS_RW && dev->open_write_cnt)
		return rnbd_err_set(-EPERM, "%s is already open for writing", dev->path);
	if (mode == RNBD_ACCESS_MIGRATION && dev->open_write_cnt >= 2)
		return rnbd_err_set(-EPERM, "%s has two writers already", dev->path);
	return 0;
}

static struct rnbd_srv_dev *dev_find(struct rnbd_srv *srv, const char *key)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &srv->devs) {
		struct rnbd_srv_dev *dev = list_entry(pos, struct rnbd_srv_dev, link);

		if (!strcmp(dev->key, key))
			return dev;
	}
	return NULL;
}

static int dev_by_fd(struct rnbd_srv *srv, const char *path, struct rnbd_bdev_conf *bconf,
		     struct rnbd_srv_dev **out);

static const struct srv_export *export_find(const struct srv_conf *conf, const char *name)
{
	for (unsigned int i = 0; i < conf->nexports; i++)
		if (!strcmp(conf->exports[i].name, name))
			return &conf->exports[i];
	return NULL;
}

/* A new device over bconf; takes bconf->fd. */
static int dev_new(struct rnbd_srv *srv, const char *key, const char *path,
		   const struct rnbd_bdev_conf *bconf, struct rnbd_srv_dev **out)
{
	struct rnbd_srv_dev *dev = calloc(1, sizeof(*dev));
	int ret;

	if (!dev) {
		if (bconf->fd >= 0)
			close(bconf->fd);
		return rnbd_err_set(-ENOMEM, "no memory for a device");
	}
	ret = rnbd_bdev_open(bconf, &dev->bdev);
	if (ret) {
		free(dev);
		return rnbd_err_prefix(ret, "%s: ", path);
	}
	snprintf(dev->key, sizeof(dev->key), "%s", key);
	snprintf(dev->path, sizeof(dev->path), "%s", path);
	dev->info = rnbd_bdev_info(dev->bdev);
	list_add_tail(&dev->link, &srv->devs);
	rnbd_log_info("rnbd server: opened %s (%" PRIu64 " bytes%s)", dev->path, dev->info->size,
		      dev->info->readonly ? ", read-only" : "");
	*out = dev;
	return 0;
}

static int dev_from_export(struct rnbd_srv *srv, const struct srv_export *e,
			   struct rnbd_srv_dev **out)
{
	struct rnbd_bdev_conf bconf = {
		.readonly = e->readonly,
		.engine = e->sync_io ? RNBD_IO_SYNC : RNBD_IO_URING,
		.dirfd = AT_FDCWD,
		.fd = -1,
	};
	char key[64];
	int fd, ret;

	if (e->type == RNBD_EXPORT_MEMORY) {
		snprintf(key, sizeof(key), "memory:%.50s", e->name);
		*out = dev_find(srv, key);
		if (*out)
			return 0;
		bconf.type = RNBD_BDEV_MEMORY;
		bconf.size = e->size;
		ret = dev_new(srv, key, e->name, &bconf, out);
		/* its data lives as long as the export, not as its openers */
		if (!ret)
			(*out)->pinned = true;
		return ret;
	}
	fd = open(e->path, (e->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return rnbd_err_set(-errno, "export %s: %s: %s", e->name, e->path, strerror(errno));
	bconf.type = e->type == RNBD_EXPORT_FILE ? RNBD_BDEV_FILE : RNBD_BDEV_BLOCKDEV;
	bconf.fd = fd;
	return dev_by_fd(srv, e->path, &bconf, out);
}

/* The device over an open file: the existing one for the same inode. */
static int dev_by_fd(struct rnbd_srv *srv, const char *path, struct rnbd_bdev_conf *bconf,
	      struct rnbd_srv_dev **out)
{
	struct stat st;
	char key[64];

	if (fstat(bconf->fd, &st) < 0) {
		int err = -errno;

		close(bconf->fd);
		return rnbd_err_set(err, "%s: %s", path, strerror(-err));
	}
	if (S_ISBLK(st.st_mode))
		snprintf(key, sizeof(key), "blk:%u:%u", major(st.st_rdev), minor(st.st_rdev));
	else
		snprintf(key, sizeof(key), "inode:%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
	*out = dev_find(srv, key);
	if (*out) {
		close(bconf->fd);
		return 0;
	}
	if (S_ISBLK(st.st_mode)) {
		bconf->type = RNBD_BDEV_BLOCKDEV;
	} else if (S_ISREG(st.st_mode)) {
		bconf->type = RNBD_BDEV_FILE;
	} else {
		close(bconf->fd);
		return rnbd_err_set(-ENOTBLK, "%s is neither a block device nor a regular file",
				    path);
	}
	return dev_new(srv, key, path, bconf, out);
}

/* A name under the search path, opened read-write if the storage allows. */
static int dev_from_path(struct rnbd_srv *srv, const char *search, const char *sessname,
			 const char *dev_name, struct rnbd_srv_dev **out)
{
	struct rnbd_bdev_conf bconf = { .dirfd = AT_FDCWD, .engine = RNBD_IO_URING };
	char root[RNBD_PATH_MAX], rel[RNBD_PATH_MAX], full[RNBD_PATH_MAX * 2];
	int ret, fd;

	ret = rnbd_resolve_root(search, sessname, root, sizeof(root));
	if (!ret)
		ret = rnbd_resolve_name(root, dev_name, rel, sizeof(rel));
	if (ret)
		return ret;
	fd = rnbd_resolve_open(root, rel, false);
	if (fd == -EACCES || fd == -EROFS) {
		fd = rnbd_resolve_open(root, rel, true);
		bconf.readonly = true;
	}
	if (fd < 0)
		return fd;
	snprintf(full, sizeof(full), "%s%s", root, rel);
	bconf.fd = fd;
	return dev_by_fd(srv, full, &bconf, out);
}

int srv_dev_get(struct rnbd_srv *srv, const char *sessname, const char *dev_name,
		uint8_t mode, struct rnbd_srv_dev **out)
{
	const struct srv_conf *conf = srv->conf;
	const struct srv_export *e;
	struct rnbd_srv_dev *dev;
	int ret;

	ret = srv_rules_check(conf, sessname, dev_name, mode);
	if (ret)
		return ret;
	e = export_find(conf, dev_name);
	if (e)
		ret = dev_from_export(srv, e, &dev);
	else if (conf->dev_search_path)
		ret = dev_from_path(srv, conf->dev_search_path, sessname, dev_name, &dev);
	else
		ret = rnbd_err_set(-ENOENT, "no export named %s", dev_name);
	if (ret)
		return ret;
	ret = srv_access_check(dev, mode);
	if (ret) {
		if (!dev->refs)
			srv_dev_put(srv, dev, RNBD_ACCESS_RO);
		return ret;
	}
	if (mode != RNBD_ACCESS_RO)
		dev->open_write_cnt++;
	dev->refs++;
	*out = dev;
	return 0;
}

/* Drop one opener; the device goes with its last one, unless pinned. */
void srv_dev_put(struct rnbd_srv *srv, struct rnbd_srv_dev *dev, uint8_t mode)
{
	(void)srv;
	if (dev->refs) {
		dev->refs--;
		if (mode != RNBD_ACCESS_RO)
			dev->open_write_cnt--;
	}
	if (dev->refs || dev->pinned)
		return;
	rnbd_log_info("rnbd server: closed %s", dev->path);
	list_del(&dev->link);
	rnbd_bdev_close(dev->bdev);
	free(dev);
}

/* Memory devices whose export is gone from conf (NULL: all) lose their pin. */
void srv_dev_unpin_stale(struct rnbd_srv *srv, const struct srv_conf *conf)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &srv->devs) {
		struct rnbd_srv_dev *dev = list_entry(pos, struct rnbd_srv_dev, link);
		const struct srv_export *e = conf ? export_find(conf, dev->path) : NULL;

		if (!dev->pinned || (e && e->type == RNBD_EXPORT_MEMORY))
			continue;
		dev->pinned = false;
		if (!dev->refs)
			srv_dev_put(srv, dev, RNBD_ACCESS_RO);
	}
}
