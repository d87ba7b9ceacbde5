// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ipc.h"
#include "kernel.h"
#include "rnbdctl.h"

#define CLT_CTL "/sys/class/rnbd-client/ctl"
#define RTRS_CLT "/sys/class/rtrs-client"
#define NODE_WAIT_MS 10000

static void sys_path(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void sys_path(char *buf, size_t len, const char *fmt, ...)
{
	const char *root = getenv("RNBD_SYSROOT");
	size_t n = (size_t)snprintf(buf, len, "%s", root ? root : "");
	va_list ap;

	if (n >= len)
		n = len - 1;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/* The first line of a sysfs file, without its newline. */
static int read_attr(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* One write(2), which is what sysfs acts on; its errno is the answer. */
static int write_attr(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;
	size_t len = strlen(val);

	if (fd < 0)
		return -errno;
	if (write(fd, val, len) != (ssize_t)len)
		ret = -errno;
	close(fd);
	return ret ? ret : 0;
}

bool kernel_present(void)
{
	char p[PATH_MAX];

	sys_path(p, sizeof(p), CLT_CTL "/map_device");
	return !access(p, F_OK);
}

static int modprobe(void)
{
	pid_t pid;
	int st;

	if (getenv("RNBD_SYSROOT"))
		return -ENOENT;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		execlp("modprobe", "modprobe", "rnbd_client", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return -ENOENT;
	return 0;
}

/* "rnbdN" from "rnbdN" or "/dev/rnbdN"; -ENOENT if it is not one of ours. */
static int dev_name(const char *dev, char *name, size_t len)
{
	char p[PATH_MAX];

	if (!strncmp(dev, "/dev/", 5))
		dev += 5;
	if (strncmp(dev, "rnbd", 4) || strchr(dev, '/') || strlen(dev) >= len)
		return rnbdctl_err(-ENOENT, "%s is not a kernel rnbd device", dev);
	sys_path(p, sizeof(p), "/sys/block/%s/rnbd", dev);
	if (access(p, F_OK))
		return rnbdctl_err(-ENOENT, "%s is not mapped", dev);
	strcpy(name, dev);
	return 0;
}

static json_object *device_json(const char *name)
{
	static const char *const attrs[] = { "session", "mapping_path", "access_mode", "state" };
	json_object *o = json_object_new_object();
	char p[PATH_MAX], v[512];

	snprintf(v, sizeof(v), "/dev/%s", name);
	ipc_add_str(o, "device", v);
	for (unsigned int i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		sys_path(p, sizeof(p), "/sys/block/%s/rnbd/%s", name, attrs[i]);
		ipc_add_str(o, attrs[i], read_attr(p, v, sizeof(v)) ? NULL : v);
	}
	ipc_add_str(o, "backend", "kernel");
	sys_path(p, sizeof(p), "/sys/block/%s/size", name);
	if (!read_attr(p, v, sizeof(v)))
		ipc_add_int(o, "size", strtoll(v, NULL, 10) * 512);
	sys_path(p, sizeof(p), "/sys/block/%s/queue/logical_block_size", name);
	if (!read_attr(p, v, sizeof(v)))
		ipc_add_int(o, "logical_block_size", strtoll(v, NULL, 10));
	/* the kernel does not show the server's id */
	json_object_object_add(o, "device_id", NULL);
	return o;
}

/* ctl/devices/<path with / as !>@<sess> -> .../rnbdN */
static int find_mapped(const char *sess, const char *path, char *name, size_t len)
{
	char p[PATH_MAX], link[PATH_MAX], mangled[RNBD_NAME_MAX];
	const char *base;
	ssize_t n;

	snprintf(mangled, sizeof(mangled), "%s", path);
	for (char *c = mangled; *c; c++)
		if (*c == '/')
			*c = '!';
	sys_path(p, sizeof(p), CLT_CTL "/devices/%s@%s", mangled, sess);
	n = readlink(p, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(name, base);
	return 0;
}

int kernel_map(const struct target *t, json_object **dev)
{
	char line[4096], p[PATH_MAX], name[64];
	int ret;

	if (!kernel_present() && (modprobe() || !kernel_present()))
		return rnbdctl_err(-ENODEV, "the kernel has no rnbd_client module");
	ret = target_kernel_line(t, line, sizeof(line));
	if (ret)
		return ret;
	sys_path(p, sizeof(p), CLT_CTL "/map_device");
	ret = write_attr(p, line);
	if (ret == -EEXIST)
		return rnbdctl_err(ret, "%s is already mapped in session %s", t->device,
				   t->sessname);
	if (ret == -ENXIO)
		return rnbdctl_err(ret, "no session %s yet: give the server's address",
				   t->sessname);
	if (ret)
		return rnbdctl_err(ret, "the kernel refused to map %s: %s", t->device,
				   strerror(-ret));
	ret = find_mapped(t->sessname, t->device, name, sizeof(name));
	if (ret)
		return rnbdctl_err(ret, "mapped %s, but the kernel does not list it", t->device);
	/* udev makes the node; map returns only once it is there */
	sys_path(p, sizeof(p), "/dev/%s", name);
	for (int i = 0; i < NODE_WAIT_MS / 10 && access(p, F_OK); i++)
		usleep(10000);
	if (access(p, F_OK))
		return rnbdctl_err(-ETIMEDOUT, "%s did not appear in %d s", p, NODE_WAIT_MS / 1000);
	*dev = device_json(name);
	return 0;
}

json_object *kernel_devices(void)
{
	json_object *a = json_object_new_array();
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d;

	sys_path(p, sizeof(p), "/sys/block");
	d = opendir(p);
	while (d && (de = readdir(d))) {
		char q[PATH_MAX];

		if (strncmp(de->d_name, "rnbd", 4))
			continue;
		sys_path(q, sizeof(q), "/sys/block/%s/rnbd", de->d_name);
		if (!access(q, F_OK))
			json_object_array_add(a, device_json(de->d_name));
	}
	if (d)
		closedir(d);
	return a;
}

static json_object *paths_json(const char *sess, bool *any_connected)
{
	json_object *a = json_object_new_array();
	char p[PATH_MAX], v[256];
	struct dirent *de;
	DIR *d;

	sys_path(p, sizeof(p), RTRS_CLT "/%s/paths", sess);
	d = opendir(p);
	while (d && (de = readdir(d))) {
		json_object *o;
		long long st[6] = { 0 };

		if (de->d_name[0] == '.')
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "id", NULL);
		ipc_add_str(o, "name", de->d_name);
		ipc_add_str(o, "session", sess);
		sys_path(p, sizeof(p), RTRS_CLT "/%s/paths/%s/src_addr", sess, de->d_name);
		ipc_add_str(o, "src", read_attr(p, v, sizeof(v)) ? NULL : v);
		sys_path(p, sizeof(p), RTRS_CLT "/%s/paths/%s/dst_addr", sess, de->d_name);
		ipc_add_str(o, "dst", read_attr(p, v, sizeof(v)) ? NULL : v);
		sys_path(p, sizeof(p), RTRS_CLT "/%s/paths/%s/state", sess, de->d_name);
		/* v still holds the last attribute read if this one is gone */
		if (read_attr(p, v, sizeof(v)))
			v[0] = '\0';
		ipc_add_str(o, "state", v[0] ? v : NULL);
		if (!strcmp(v, "connected"))
			*any_connected = true;
		sys_path(p, sizeof(p), RTRS_CLT "/%s/paths/%s/stats/rdma", sess, de->d_name);
		if (!read_attr(p, v, sizeof(v)))
			sscanf(v, "%lld %lld %lld %lld %lld %lld", &st[0], &st[1], &st[2], &st[3],
			       &st[4], &st[5]);
		ipc_add_int(o, "reqs_read", st[0]);
		ipc_add_int(o, "bytes_read", st[1]);
		ipc_add_int(o, "reqs_write", st[2]);
		ipc_add_int(o, "bytes_write", st[3]);
		ipc_add_int(o, "inflight", st[4]);
		ipc_add_int(o, "failovers", st[5]);
		sys_path(p, sizeof(p), RTRS_CLT "/%s/paths/%s/cur_latency", sess, de->d_name);
		if (!read_attr(p, v, sizeof(v)))
			ipc_add_int(o, "hb_rtt_ns", strtoll(v, NULL, 10));
		json_object_array_add(a, o);
	}
	if (d)
		closedir(d);
	return a;
}

json_object *kernel_sessions(void)
{
	json_object *a = json_object_new_array(), *devs = kernel_devices();
	char p[PATH_MAX], v[128];
	struct dirent *de;
	DIR *d;

	sys_path(p, sizeof(p), RTRS_CLT);
	d = opendir(p);
	while (d && (de = readdir(d))) {
		json_object *o, *mine;
		bool up = false;

		if (de->d_name[0] == '.')
			continue;
		o = json_object_new_object();
		ipc_add_str(o, "name", de->d_name);
		ipc_add_str(o, "backend", "kernel");
		json_object_object_add(o, "pid", NULL);
		json_object_object_add(o, "paths", paths_json(de->d_name, &up));
		ipc_add_str(o, "state", up ? "connected" : "disconnected");
		/* "min-inflight (MI: 1)"; gone with a session being torn down */
		sys_path(p, sizeof(p), RTRS_CLT "/%s/mpath_policy", de->d_name);
		if (read_attr(p, v, sizeof(v)))
			v[0] = '\0';
		v[strcspn(v, " ")] = '\0';
		ipc_add_str(o, "policy", v[0] ? v : NULL);
		mine = json_object_new_array();
		for (size_t i = 0; i < json_object_array_length(devs); i++) {
			json_object *dv = json_object_array_get_idx(devs, i);
			const char *s = ipc_str(dv, "session");

			if (s && !strcmp(s, de->d_name))
				json_object_array_add(mine, json_object_get(dv));
		}
		json_object_object_add(o, "devices", mine);
		json_object_array_add(a, o);
	}
	if (d)
		closedir(d);
	json_object_put(devs);
	return a;
}

static int dev_write(const char *dev, const char *attr, const char *val, const char *what)
{
	char name[64], p[PATH_MAX];
	int ret = dev_name(dev, name, sizeof(name));

	if (ret)
		return ret;
	sys_path(p, sizeof(p), "/sys/block/%s/rnbd/%s", name, attr);
	ret = write_attr(p, val);
	if (ret == -EBUSY && !strcmp(attr, "unmap_device"))
		return rnbdctl_err(ret, "%s is in use; unmap --force to unmap anyway", dev);
	if (ret == -EALREADY && !strcmp(attr, "remap_device"))
		return rnbdctl_err(ret, "%s is connected: nothing to remap", dev);
	if (ret)
		return rnbdctl_err(ret, "%s %s: %s", what, dev, strerror(-ret));
	return 0;
}

int kernel_unmap(const char *dev, bool force)
{
	return dev_write(dev, "unmap_device", force ? "force" : "normal", "unmap");
}

int kernel_remap(const char *dev)
{
	return dev_write(dev, "remap_device", "1", "remap");
}

int kernel_resize(const char *dev, uint64_t bytes)
{
	char v[32];

	if (!bytes || bytes % 512)
		return rnbdctl_err(-EINVAL, "a size for the kernel is whole 512-byte sectors");
	snprintf(v, sizeof(v), "%llu", (unsigned long long)(bytes / 512));
	return dev_write(dev, "resize", v, "resize");
}

static int sess_dir(const char *sess, char *p, size_t len)
{
	if (!*sess || strchr(sess, '/') || !strcmp(sess, ".") || !strcmp(sess, ".."))
		return rnbdctl_err(-EINVAL, "bad session name '%s'", sess);
	sys_path(p, len, RTRS_CLT "/%s", sess);
	if (access(p, F_OK))
		return rnbdctl_err(-ENOENT, "no kernel session %s", sess);
	return 0;
}

static const char *kprefix(const char *addr)
{
	return strncmp(addr, "gid:", 4) ? "ip:" : "";
}

int kernel_path_add(const char *sess, const char *addr)
{
	char p[PATH_MAX], q[PATH_MAX + 16], a[300];
	struct target t;
	const struct target_path *tp = &t.paths[0];
	int ret = sess_dir(sess, p, sizeof(p));

	if (ret)
		return ret;
	/*
	 * The kernel's grammar wants ip:/gid: on each address, no brackets
	 * and no port: parse as map's --path does, and write it that way.
	 */
	target_init(&t);
	ret = target_add_path(&t, addr);
	if (ret)
		return ret;
	if (tp->port)
		return rnbdctl_err(-EINVAL, "path '%s': the kernel connects to the session's port",
				   addr);
	if (tp->src[0])
		snprintf(a, sizeof(a), "%s%s@%s%s", kprefix(tp->src), tp->src, kprefix(tp->dst),
			 tp->dst);
	else
		snprintf(a, sizeof(a), "%s%s", kprefix(tp->dst), tp->dst);
	snprintf(q, sizeof(q), "%s/add_path", p);
	ret = write_attr(q, a);
	return ret ? rnbdctl_err(ret, "add path %s to %s: %s", a, sess, strerror(-ret)) : 0;
}

int kernel_path_op(const char *sess, const char *path, const char *op)
{
	char p[PATH_MAX], q[PATH_MAX + 300];
	int ret = sess_dir(sess, p, sizeof(p));

	if (ret)
		return ret;
	if (strchr(path, '/') || path[0] == '.')
		return rnbdctl_err(-EINVAL, "bad path name '%s'", path);
	snprintf(q, sizeof(q), "%s/paths/%s/%s", p, path, op);
	if (access(q, F_OK))
		return rnbdctl_err(-ENOENT, "session %s has no path %s", sess, path);
	ret = write_attr(q, "1");
	return ret ? rnbdctl_err(ret, "%s of %s: %s", op, path, strerror(-ret)) : 0;
}

int kernel_set_policy(const char *sess, const char *policy)
{
	char p[PATH_MAX], q[PATH_MAX + 16];
	int ret = sess_dir(sess, p, sizeof(p));

	if (ret)
		return ret;
	snprintf(q, sizeof(q), "%s/mpath_policy", p);
	ret = write_attr(q, policy);
	return ret ? rnbdctl_err(ret, "policy %s: %s", policy, strerror(-ret)) : 0;
}
