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

/*
 * The device for key that an OPEN in mode can use: any for a reader, the
 * read-write one for a writer (NULL if there is none yet).
 */
static struct rnbd_srv_dev *dev_find(struct rnbd_srv *srv, const char *key, uint8_t mode)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &srv->devs) {
		struct rnbd_srv_dev *dev = list_entry(pos, struct rnbd_srv_dev, link);

		if (!strcmp(dev->key, key) && (mode == RNBD_ACCESS_RO || !dev->info->readonly))
			return dev;
	}
	return NULL;
}

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

/*
 * The backend for what st describes.  An export gets the type it was
 * configured with or an error, never a backend picked behind its back.
 */
static int storage_type(const struct stat *st, const char *path, const struct srv_export *e,
			enum rnbd_bdev_type *out)
{
	if (S_ISBLK(st->st_mode))
		*out = RNBD_BDEV_BLOCKDEV;
	else if (S_ISREG(st->st_mode))
		*out = RNBD_BDEV_FILE;
	else if (e)
		return rnbd_err_set(-ENOTBLK, "export %s: %s is neither a block device nor a regular file",
				    e->name, path);
	else
		return rnbd_err_set(-ENOTBLK, "%s is neither a block device nor a regular file",
				    path);
	if (!e || (e->type == RNBD_EXPORT_BLOCKDEV) == (*out == RNBD_BDEV_BLOCKDEV))
		return 0;
	if (e->type == RNBD_EXPORT_BLOCKDEV)
		return rnbd_err_set(-ENOTBLK, "export %s has type blockdev, but %s is a regular file",
				    e->name, path);
	return rnbd_err_set(-EINVAL, "export %s has type file, but %s is a block device",
			    e->name, path);
}

/* The device over an open file (e: the export it is, or NULL); takes bconf->fd. */
static int dev_by_fd(struct rnbd_srv *srv, const char *path, const struct srv_export *e,
		     uint8_t mode, struct rnbd_bdev_conf *bconf, struct rnbd_srv_dev **out)
{
	char key[SRV_DEV_KEY_MAX];
	struct stat st;
	int ret;

	ret = fstat(bconf->fd, &st) < 0 ? rnbd_err_set(-errno, "%s: %s", path, strerror(errno)) :
		storage_type(&st, path, e, &bconf->type);
	if (ret) {
		close(bconf->fd);
		return ret;
	}
	if (S_ISBLK(st.st_mode))
		snprintf(key, sizeof(key), "blk:%u:%u", major(st.st_rdev), minor(st.st_rdev));
	else
		snprintf(key, sizeof(key), "inode:%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
	*out = dev_find(srv, key, mode);
	if (*out) {
		close(bconf->fd);
		return 0;
	}
	return dev_new(srv, key, path, bconf, out);
}

static int dev_from_export(struct rnbd_srv *srv, const struct srv_export *e, uint8_t mode,
			   struct rnbd_srv_dev **out)
{
	struct rnbd_bdev_conf bconf = {
		.readonly = e->readonly,
		.engine = e->sync_io ? RNBD_IO_SYNC : RNBD_IO_URING,
		.dirfd = AT_FDCWD,
		.fd = -1,
	};
	char key[SRV_DEV_KEY_MAX];
	int ret;

	if (e->type == RNBD_EXPORT_MEMORY) {
		snprintf(key, sizeof(key), SRV_DEV_MEMORY_KEY "%s", e->name);
		/* one memory device per export, whatever its mode: it is the data */
		*out = dev_find(srv, key, RNBD_ACCESS_RO);
		if (!*out) {
			bconf.type = RNBD_BDEV_MEMORY;
			bconf.size = e->size;
			ret = dev_new(srv, key, e->name, &bconf, out);
			if (ret)
				return ret;
		}
		/* its data lives as long as the export, not as its openers */
		(*out)->pinned = true;
		return 0;
	}
	bconf.fd = open(e->path, (e->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (bconf.fd < 0)
		return rnbd_err_set(-errno, "export %s: %s: %s", e->name, e->path, strerror(errno));
	return dev_by_fd(srv, e->path, e, mode, &bconf, out);
}

/*
 * A name under the search path, opened read-write if the storage allows;
 * *name_ro says whether it did not.
 */
static int dev_from_path(struct rnbd_srv *srv, const char *search, const char *sessname,
			 const char *dev_name, uint8_t mode, struct rnbd_srv_dev **out,
			 bool *name_ro)
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
	*name_ro = bconf.readonly;
	snprintf(full, sizeof(full), "%s%s", root, rel);
	bconf.fd = fd;
	return dev_by_fd(srv, full, NULL, mode, &bconf, out);
}

int srv_dev_get(struct rnbd_srv *srv, const char *sessname, const char *dev_name,
		uint8_t mode, struct rnbd_srv_dev **out)
{
	const struct srv_conf *conf = srv->conf;
	const struct srv_export *e = NULL;
	char name[RNBD_NAME_MAX];
	struct rnbd_srv_dev *dev = NULL;
	bool name_ro = false;
	int ret;

	/* rules see the name that is opened, not one of its spellings */
	ret = rnbd_resolve_normalise(dev_name, name, sizeof(name));
	if (!ret)
		ret = srv_rules_check(conf, sessname, name, mode);
	if (ret)
		return ret;
	e = export_find(conf, name);
	if (e) {
		name_ro = e->readonly;
		ret = dev_from_export(srv, e, mode, &dev);
	} else if (conf->dev_search_path) {
		ret = dev_from_path(srv, conf->dev_search_path, sessname, name, mode, &dev,
				    &name_ro);
	} else {
		ret = rnbd_err_set(-ENOENT, "no export named %s", name);
	}
	if (ret)
		return ret;
	/* the storage may be shared with a writable name: this one decides */
	if (name_ro && mode != RNBD_ACCESS_RO)
		ret = rnbd_err_set(-EACCES, "%s is read-only", e ? e->name : dev->path);
	else
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

/*
 * Memory devices follow conf (NULL: nothing): pinned while their export is
 * there, let go with their last opener once it is gone.
 */
void srv_dev_unpin_stale(struct rnbd_srv *srv, const struct srv_conf *conf)
{
	struct list_head *pos, *tmp;

	list_for_each_safe(pos, tmp, &srv->devs) {
		struct rnbd_srv_dev *dev = list_entry(pos, struct rnbd_srv_dev, link);
		const struct srv_export *e = conf ? export_find(conf, dev->path) : NULL;

		if (strncmp(dev->key, SRV_DEV_MEMORY_KEY, strlen(SRV_DEV_MEMORY_KEY)))
			continue;
		if (e && e->type == RNBD_EXPORT_MEMORY) {
			/* growing under connected clients is not worth its races */
			if (e->size != dev->info->size)
				rnbd_log_warn("rnbd server: export %s keeps its size of %" PRIu64
					      " bytes while it exists, not %" PRIu64, e->name,
					      dev->info->size, e->size);
			dev->pinned = true;
			continue;
		}
		if (!dev->pinned)
			continue;
		dev->pinned = false;
		if (!dev->refs)
			srv_dev_put(srv, dev, RNBD_ACCESS_RO);
	}
}
