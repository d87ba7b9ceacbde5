// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc.h"

#define MSG_MAX (256 * 1024)
#define READ_TIMEOUT_MS 2000

int ipc_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	char *slash;
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	/* 0600 from the start: no window in which others could connect */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r || listen(fd, 16)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

json_object *ipc_ok(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

json_object *ipc_error(int err, const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "errno", json_object_new_int(err < 0 ? -err : err));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

const char *ipc_str(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool ipc_int(json_object *o, const char *key, int64_t *out)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

void ipc_add_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

void ipc_add_int(json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

/* Read one JSON object terminated by a newline (or EOF). */
static int read_msg(int fd, int timeout_ms, json_object **out)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int ret = -ENODATA;

	while (buf) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, timeout_ms) <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		if (n + 1 == cap) {
			char *nb = cap < MSG_MAX ? realloc(buf, cap * 2) : NULL;

			if (!nb) {
				ret = -EMSGSIZE;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || memchr(buf + n, '\n', (size_t)r)) {
			n += r > 0 ? (size_t)r : 0;
			buf[n] = '\0';
			*out = n ? json_tokener_parse(buf) : NULL;
			ret = !n ? -ENODATA : *out ? 0 : -EBADMSG;
			break;
		}
		n += (size_t)r;
	}
	free(buf);
	return ret;
}

static int send_msg(int fd, json_object *o)
{
	/* paths and device names are full of '/': "\/" is valid JSON but noise */
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE);
	struct iovec v[2] = { { (void *)text, strlen(text) }, { "\n", 1 } };
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };

	return sendmsg(fd, &m, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

int ipc_accept(int lfd, json_object **req, json_object **rep)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	*req = NULL;
	*rep = NULL;
	if (fd < 0)
		return -1;
	if (!peer_allowed(fd))
		*rep = ipc_error(EPERM, "only root may use this socket");
	else if (read_msg(fd, READ_TIMEOUT_MS, req) || !json_object_is_type(*req, json_type_object))
		*rep = ipc_error(EINVAL, "expected one JSON object and a newline");
	if (*rep) {
		json_object_put(*req);
		*req = NULL;
	}
	return fd;
}

void ipc_answer(int fd, json_object *rep)
{
	/* a client that went away is told nothing */
	send_msg(fd, rep);
	json_object_put(rep);
	close(fd);
}

int ipc_call(const char *path, json_object *req, int timeout_ms, json_object **rep)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = send_msg(fd, req);
	if (!ret)
		ret = read_msg(fd, timeout_ms, rep);
	close(fd);
	return ret;
}
